"""Selection rules, pull grids and per-label biases for the head, on every set and both seeds (argv: sets, k list; a third
argument also measures labels held out of the examples, ungated)."""
import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
import math

from sim import run, summary
#: The default grid extended upwards (stronger pulls), and downwards (weaker pulls).
UP = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, math.inf)
DOWN = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, math.inf)
cfgs = {
 "head": {},
 "argmin": {"rule": "argmin"},
 "argmin-up": {"lams": UP, "rule": "argmin"},
 "up": {"lams": UP},
 "down": {"lams": DOWN},
 "bias": {"lams": UP, "bias": lambda l: l * 0.01},
 "norefine": {"refine": False},
}
out = run(cfgs, sys.argv[1].split(","), [int(k) for k in sys.argv[2].split(",")], heldout=len(sys.argv) > 3)
summary(out)

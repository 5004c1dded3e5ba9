import numpy as np
import pytest

from zeroclass.errors import InputError, InputTypeError
from zeroclass.hypotheses import (
    MAX_HYPOTHESIS_CHARS,
    MAX_TEMPLATE_CHARS,
    check_flag,
    ensemble_hypotheses,
    labels_per_text,
    looks_chinese,
    normalize_texts,
    parse_labels,
    validate_template,
    validate_templates,
    labels_argument,
)


def test_label_string_splits_on_english_and_chinese_commas():
    assert parse_labels("家居，旅游, 科技 ,sports") == ["家居", "旅游", "科技", "sports"]

def test_labels_in_a_list_are_kept_as_given_as_transformers_keeps_them():
    # readlines() leaves "\n": the caller looks results up by the label it passed.
    assert parse_labels(("a", " b ", "c\n")) == ["a", " b ", "c\n"]
    with pytest.raises(InputError, match="label 1 is empty"):
        parse_labels(["a", " \n"])


def test_label_arrays_are_lists():
    pd = pytest.importorskip("pandas")
    labels = ["a", "b"]
    for given in (np.array(labels), pd.Series(labels), pd.Series(labels).unique(), pd.array(labels, dtype="string")):
        assert labels_per_text(labels_argument(given), 1) == [labels]
    assert labels_per_text(labels_argument(np.array([labels, labels])), 2) == [labels, labels]
    assert labels_argument("a,b") == "a,b" and labels_argument(None) is None


def test_one_shared_label_list_or_one_per_text():
    shared = labels_per_text("a,b", 3)
    assert shared == [["a", "b"]] * 3
    assert labels_per_text([["a"], ["b", "c"]], 2) == [["a"], ["b", "c"]]
    with pytest.raises(InputError, match="2 label lists but there are 3 texts"):
        labels_per_text([["a"], ["b"]], 3)


def test_templates():
    assert validate_template("This example is {}.") == "This example is {}."
    assert validate_template("{0}") == "{0}"
    assert ensemble_hypotheses(["体育"], ["这是一条关于{}的文本。"]) == ["这是一条关于体育的文本。"]
    for bad in ("none", "{}{}", "{x}", "{"):
        with pytest.raises(InputError):
            validate_template(bad)
    with pytest.raises(TypeError):
        validate_template(3)  # type: ignore[arg-type]


def test_looks_chinese():
    assert looks_chinese("世界那么大，我想去看看")
    assert looks_chinese("我用iPhone 15拍照")
    assert not looks_chinese("We ate 饺子 for dinner at home tonight")
    assert not looks_chinese("12345 !!!")


# -- hostile and careless input (issue 11) ------------------------------------


@pytest.mark.parametrize("template", ["{:d}", "{:{}}", "{0:{0}}", "{!r}", "{!s:>3}", "{:.>5000000}", "{:>99999999999}"])
def test_template_placeholder_must_be_bare(template):
    with pytest.raises(InputError, match=r"a bare \{\} with no name, conversion"):
        validate_template(template)


def test_hypotheses_are_built_without_str_format_and_capped_before_building():
    # Escaped braces stay literal; the label is put in, never formatted (a label with braces is just text).
    assert ensemble_hypotheses(["{0.__class__}"], ["x {{}} {} y"]) == ["x {} {0.__class__} y"]
    assert ensemble_hypotheses(["a"], ["{0}"]) == ["a"]
    with pytest.raises(InputError, match=f"over MAX_TEMPLATE_CHARS={MAX_TEMPLATE_CHARS}"):
        validate_template("{}" + "x" * MAX_TEMPLATE_CHARS)
    long_description = "d" * MAX_HYPOTHESIS_CHARS  # a label description is not a label: only the hypothesis cap applies
    with pytest.raises(InputError, match=f"label 1 .* under template 0 would have {MAX_HYPOTHESIS_CHARS + 2} characters"):
        ensemble_hypotheses(["ok", long_description], ["a {}", "{}!!!"])


def test_error_messages_never_echo_unbounded_input():
    huge = "{:" + "9" * 100_000 + "}"
    with pytest.raises(InputError) as caught:
        validate_templates(["{}", huge[:900]])
    assert len(str(caught.value)) < 400
    with pytest.raises(InputError) as caught:
        parse_labels(["x" * 100_000])
    assert len(str(caught.value)) < 400
    with pytest.raises(InputError) as caught:
        normalize_texts([b"y" * 100_000])  # type: ignore[list-item]
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize("flag", ["no", "false", 0, 1, None, [True]])
def test_flags_must_be_real_bools(tiny_classifier, flag):
    if flag is None:  # multi_label=None means the pipeline's default, as in transformers
        assert tiny_classifier("a text", ["a", "b"], multi_label=None) == tiny_classifier("a text", ["a", "b"])
    else:
        with pytest.raises(InputTypeError, match="multi_label must be True or False"):
            tiny_classifier("a text", ["a", "b"], multi_label=flag)
    with pytest.raises(InputTypeError, match="explain must be True or False"):
        tiny_classifier("a text", ["a", "b"], explain=flag)


def test_numpy_bools_are_bools():
    assert check_flag(np.bool_(True), "multi_label") is True
    assert check_flag(False, "multi_label") is False


@pytest.mark.parametrize("blank", ["\x00", "\u200b", "\x00\u200b\ufeff", "\u2028\u3000 \t", "\u3164", "\u202e\u200d"])
def test_texts_and_labels_of_invisible_characters_are_empty(blank):
    with pytest.raises(InputError, match="text 1 is empty"):
        normalize_texts(["fine", blank])
    with pytest.raises(InputError, match="label 1 is empty"):
        parse_labels(["fine", blank])


def test_labels_equal_once_invisible_characters_are_removed_are_duplicates():
    for twin in ("a\u200b", "\ufeffa", "a\x00", "a\u2060"):
        with pytest.raises(InputError, match="duplicate label .* at positions 0 and 1"):
            parse_labels(["a", twin])
    # NFC: "é" precomposed and "e" + combining acute are the same label.
    with pytest.raises(InputError, match="once normalised: NFKC, invisible characters removed, spaces folded"):
        parse_labels(["caf\u00e9", "cafe\u0301"])
    assert parse_labels(["a", "A", "a b"]) == ["a", "A", "a b"]


@pytest.mark.parametrize(("label", "twin"), [
    ("abc", "abc\ufe0f"),  # a variation selector
    ("abc", "ab\u034fc"),  # the combining grapheme joiner
    ("a b", "a\u00a0b"),  # a no-break space
    ("a b", "a  b"),  # two spaces
    ("a", "\uff41"),  # full-width
    ("team", "team\U000e0001"),  # a tag character
    ("ﬁle", "file"),  # a ligature
])
def test_labels_that_look_the_same_are_duplicates(label, twin):
    """Each pair was accepted as two labels, which then split one label's score 0.5/0.5."""
    with pytest.raises(InputError, match="duplicate label .* once normalised: NFKC"):
        parse_labels([label, twin])


@pytest.mark.parametrize("blank", ["\u0301", "\u0301\u0308", "\ufe0f", "\u034f", "\u00ad", "\U000e0041", "\u20dd"])
def test_marks_and_selectors_alone_are_empty(blank):
    with pytest.raises(InputError, match="label 1 is empty"):
        parse_labels(["a", blank])
    with pytest.raises(InputError, match="the text is empty"):
        normalize_texts(blank)
    assert normalize_texts("e\u0301")[0] == ["e\u0301"]  # a mark on a letter is text


@pytest.mark.parametrize("surrogate", ["\ud800", "x\udfff", "\udcff"])
def test_lone_surrogates_are_refused_naming_where(surrogate):
    with pytest.raises(InputError, match="text 1 has a lone surrogate U\\+D[89CDF]"):
        normalize_texts(["ok", surrogate])
    with pytest.raises(InputError, match="label 2 has a lone surrogate"):
        parse_labels(["ok", "fine", surrogate])
    with pytest.raises(InputError, match="hypothesis_template has a lone surrogate"):
        validate_template("{} " + surrogate)


def test_chinese_refused_by_a_model_adapted_in_english_says_why():
    """Issue 22, item 15: an English-adapted USE-multilingual said it 'cannot read' Chinese, which it can."""
    from zeroclass.errors import UnsupportedLanguageError
    from zeroclass.hypotheses import check_language

    with pytest.raises(UnsupportedLanguageError) as refused:
        check_language(["世界那么大，我想去看看"], frozenset({"en"}), "google/universal-sentence-encoder-multilingual-3")
    message = str(refused.value)
    assert "cannot read" not in message and "answers only en" in message and "adapted on examples" in message

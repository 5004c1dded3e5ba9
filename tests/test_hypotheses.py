import pytest

from zeroclass.errors import InputError
from zeroclass.hypotheses import labels_per_text, looks_chinese, make_hypotheses, parse_labels, validate_template


def test_label_string_splits_on_english_and_chinese_commas():
    assert parse_labels("家居，旅游, 科技 ,sports") == ["家居", "旅游", "科技", "sports"]
    assert parse_labels(("a", " b ")) == ["a", "b"]


def test_one_shared_label_list_or_one_per_text():
    shared = labels_per_text("a,b", 3)
    assert shared == [["a", "b"]] * 3
    assert labels_per_text([["a"], ["b", "c"]], 2) == [["a"], ["b", "c"]]
    with pytest.raises(InputError, match="2 label lists but there are 3 texts"):
        labels_per_text([["a"], ["b"]], 3)


def test_templates():
    assert validate_template("This example is {}.") == "This example is {}."
    assert validate_template("{0}") == "{0}"
    assert make_hypotheses(["体育"], "这是一条关于{}的文本。") == ["这是一条关于体育的文本。"]
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

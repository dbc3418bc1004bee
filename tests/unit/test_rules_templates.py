import pytest

from rules import templates as t

TEMPLATES = {"order_update": "HX" + "a" * 32, "welcome_back": "HX" + "b" * 32}


def test_not_a_command():
    assert t.parse_template_command("hello") is None
    assert t.parse_template_command("") is None
    assert t.parse_template_command(None) is None
    assert t.parse_template_command("/templates foo") is None


def test_parse_with_variables_and_quotes():
    cmd = t.parse_template_command('/template order_update "Ana Maria" 42')
    assert cmd is not None
    assert cmd.name == "order_update" and cmd.variables == ["Ana Maria", "42"]
    cmd2 = t.parse_template_command("  /Template welcome_back  ")
    assert cmd2 is not None and cmd2.name == "welcome_back" and cmd2.variables == []


def test_unicode_variables():
    cmd = t.parse_template_command("/template order_update Zoë 東京")
    assert cmd is not None and cmd.variables == ["Zoë", "東京"]


@pytest.mark.parametrize("text", ["/template", "/template   ", '/template order_update "Ana'])
def test_malformed_commands_raise(text):
    with pytest.raises(t.TemplateCommandError):
        t.parse_template_command(text)


def test_too_many_variables():
    with pytest.raises(t.TemplateCommandError, match="too many"):
        t.parse_template_command("/template x " + " ".join(["v"] * (t.MAX_VARIABLES + 1)))


def test_resolve_and_unknown_lists_known():
    assert t.resolve("order_update", TEMPLATES) == TEMPLATES["order_update"]
    assert t.resolve("Order_Update", TEMPLATES) == TEMPLATES["order_update"]
    with pytest.raises(t.TemplateCommandError) as exc:
        t.resolve("nope", TEMPLATES)
    assert "order_update" in str(exc.value) and "welcome_back" in str(exc.value)
    with pytest.raises(t.TemplateCommandError, match="none are configured"):
        t.resolve("x", {})


def test_content_variables_are_positional():
    assert t.content_variables(["Ana", "42"]) == {"1": "Ana", "2": "42"}
    assert t.content_variables([]) == {}

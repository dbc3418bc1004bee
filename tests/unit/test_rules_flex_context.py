from rules.flex_context import MAX_KEYS, flatten_flex_context


def test_prefix_nesting_lists_and_scalars():
    ctx = flatten_flex_context(
        {
            "order_id": "A-42",
            "customer": {"tier": "gold", "address": {"city": "Lisboa"}},
            "tags": ["vip", "late"],
            "count": 3,
            "paid": True,
            "note": None,
            "empty": {},
        }
    )
    assert ctx == {
        "flex_order_id": "A-42",
        "flex_customer_tier": "gold",
        "flex_customer_address_city": "Lisboa",
        "flex_tags": '["vip", "late"]',
        "flex_count": "3",
        "flex_paid": "true",
        "flex_note": "null",
        "flex_empty": "{}",
    }


def test_service_and_handoff_attributes_are_not_echoed():
    ctx = flatten_flex_context(
        {
            "name": "Ana",
            "customerName": "Ana",
            "from": "whatsapp:+351900000000",
            "channelType": "whatsapp",
            "waHandoff": {"workflowId": "x"},
            "handedOff": True,
            "handoffReason": "r",
            "handoffSummary": "s",
            "handoffSentiment": "neutral",
            "handoffLanguage": "en",
            "handoffTimestamp": "2026-01-01T00:00:00Z",
            "queue": "billing",
        }
    )
    assert ctx == {"flex_queue": "billing"}


def test_unicode_kept_and_collisions_first_wins():
    ctx = flatten_flex_context({"nome": "João 👋", "a_b": 1, "a": {"b": 2}, "list": ["ü"]})
    assert ctx["flex_nome"] == "João 👋"
    assert ctx["flex_a_b"] == "1"
    assert ctx["flex_list"] == '["ü"]'


def test_not_an_object_gives_empty_context():
    assert flatten_flex_context(None) == {}
    assert flatten_flex_context(["a"]) == {}  # type: ignore[arg-type]


def test_bounded():
    ctx = flatten_flex_context({f"k{i}": i for i in range(MAX_KEYS + 50)})
    assert len(ctx) == MAX_KEYS
    deep: dict = {}
    cur = deep
    for _ in range(20):
        cur["x"] = {}
        cur = cur["x"]
    out = flatten_flex_context({"d": deep})
    assert len(out) == 1 and next(iter(out)).startswith("flex_d_x")


def test_what_flex_writes_on_every_task_is_not_context():
    insights: dict[str, object] = {"initiated_by": "customer", "conversation_id": "KD1", "media": [{"sid": "CH1"}]}
    attributes = {
        "initiatedBy": "customer",
        "direction": "inbound",
        "conversationSid": "CH1",
        "flexInteractionSid": "KD1",
        "flexInteractionChannelSid": "UO1",
        "conversations": insights,
        "customer": {"tier": "gold"},
    }
    assert flatten_flex_context(attributes) == {"flex_customer_tier": "gold"}
    # Insights fields someone else set under `conversations` still reach the AI.
    insights["virtual"] = "Yes"
    assert flatten_flex_context(attributes)["flex_conversations_virtual"] == "Yes"

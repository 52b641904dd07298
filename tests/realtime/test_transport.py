"""The one realtime transport: group names are checked where they are built, and an event
published from synchronous code reaches every channel in the group through the real Redis layer."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

import realtime


def test_a_group_name_joins_its_parts_with_periods():
    assert realtime.group_name("runs", "run", 7) == "runs.run.7"


@pytest.mark.parametrize("parts", [("has space", 1), ("x" * 100,), ("",), ("ünicode",)])
def test_a_name_channels_would_refuse_fails_where_it_is_built(parts):
    with pytest.raises(ValueError, match="channel group name"):
        realtime.group_name(*parts)


async def _joined(layer, group: str) -> str:
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def test_a_published_event_reaches_each_channel_in_the_group():
    layer = get_channel_layer()
    group = realtime.group_name("test", "transport", "one")
    first, second = await _joined(layer, group), await _joined(layer, group)
    await sync_to_async(realtime.publish)(group, {"type": "test.ping", "n": 1})
    for channel in (first, second):
        assert await asyncio.wait_for(layer.receive(channel), timeout=5) == {"type": "test.ping", "n": 1}


async def test_publish_many_sends_one_event_to_every_group_and_no_other():
    layer = get_channel_layer()
    run_page, runs_page, elsewhere = (realtime.group_name("test", "many", n) for n in (1, 2, 3))
    channels = [await _joined(layer, group) for group in (run_page, runs_page, elsewhere)]
    await sync_to_async(realtime.publish_many)([run_page, runs_page], {"type": "test.changed", "id": 9})
    for channel in channels[:2]:
        assert await asyncio.wait_for(layer.receive(channel), timeout=5) == {"type": "test.changed", "id": 9}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channels[2]), timeout=0.5)

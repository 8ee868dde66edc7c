"""The event bus between the training worker thread and websocket viewers."""

from app.events.bus import EventBus, Frame, Subscription

__all__ = ["EventBus", "Frame", "Subscription"]

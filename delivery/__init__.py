"""Delivery of pushed messages: the outbox and its pacing; Telegram HTML (validate, measure, split, to text)."""

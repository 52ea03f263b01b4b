"""The channel-neutral chat: command router, Q&A, deadlines, settings, profile and staff flows, templates."""

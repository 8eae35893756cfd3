"""In-app notifications for officials (reminders, escalations)."""

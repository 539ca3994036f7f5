"""The Telegram bot: webhook and durable inbox, workers, aiogram routers, sender, manager chat."""

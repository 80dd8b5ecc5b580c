"""Command line: `python -m bot` runs the bot (long polling); `python -m bot web` serves Telegram's webhook;
`python -m bot clock` runs only the scheduler; `import`, `stats`, `integrity`, `chat` and `migrate` help
operators, moderators and translators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="ManaBalss participation bot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot with long polling (the default)")
    commands.add_parser("web", help="serve Telegram's webhook on $PORT (WEBHOOK_URL, WEBHOOK_SECRET)")
    importer = commands.add_parser("import", help="load or update a campaign from a YAML or JSON file")
    importer.add_argument("file", type=Path)
    stats = commands.add_parser("stats", help="residents, campaigns, ideas, votes")
    stats.add_argument("--json", action="store_true", help="one JSON object on one line")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal, without Telegram")
    chat.add_argument("--lang", choices=("lv", "ru", "en"), default=None,
                      help="the language of a new resident (a returning one keeps theirs)")
    chat.add_argument("--user-id", type=int, default=1)
    commands.add_parser("migrate", help="create or upgrade the database schema")
    report = commands.add_parser("integrity", help="the integrity report of a campaign (unusual voting patterns)")
    report.add_argument("--campaign", metavar="SLUG", help="the campaign (default: the current one)")
    report.add_argument("--json", action="store_true", help="one JSON object on one line")
    clock = commands.add_parser("clock", help="run only the scheduler (reminders, digests), without polling")
    clock.add_argument("--lease-seconds", type=float, default=60.0,
                       help="how long the scheduler lease lasts without renewal (default 60)")
    clock.add_argument("--renew-seconds", type=float, default=20.0,
                       help="how often the lease is renewed or tried (default 20)")
    return parser


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise SystemExit(f"error: bad setting: {problems}") from None


def _log_level(settings: Settings, command: str) -> str:
    """In the terminal chat, log lines would mix into the conversation: warnings only, unless LOG_LEVEL is set."""
    if command == "chat" and "log_level" not in settings.model_fields_set:
        return "WARNING"
    return settings.log_level


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = _load_settings()
    from bot.logging_setup import setup_logging
    from bot.startup import explain, log_targets

    command = args.command or "run"
    setup_logging(_log_level(settings, command),
                  [settings.bot_token.get_secret_value(), settings.webhook_secret.get_secret_value()],
                  settings.log_format)
    if command in ("run", "web", "clock") and settings.token_problem:
        raise SystemExit(f"error: {settings.token_problem}")
    if command == "web" and settings.webhook_problem:
        raise SystemExit(f"error: {settings.webhook_problem}")
    if command in ("run", "web", "clock", "migrate"):
        log_targets(settings, command)
    try:
        _run(command, args, settings)
    except KeyboardInterrupt:
        pass
    except Exception as error:
        message = explain(error, settings)
        if message is None:
            raise
        raise SystemExit(message) from None


def _run(command: str, args: argparse.Namespace, settings: Settings) -> None:
    if command == "run":
        from bot.runner import run_polling

        asyncio.run(run_polling(settings))
    elif command == "web":
        from bot.web import run_web

        asyncio.run(run_web(settings))
    elif command == "import":
        from bot.cli import import_file

        asyncio.run(import_file(settings, args.file))
    elif command == "stats":
        from bot.cli import print_stats

        asyncio.run(print_stats(settings, as_json=args.json))
    elif command == "chat":
        from bot.cli_chat import run_chat

        asyncio.run(run_chat(settings, language=args.lang, user_id=args.user_id))
    elif command == "integrity":
        from bot.cli import print_integrity

        asyncio.run(print_integrity(settings, slug=args.campaign, as_json=args.json))
    elif command == "migrate":
        from bot.cli import migrate_only

        asyncio.run(migrate_only(settings))
    elif command == "clock":
        from bot.runner import run_clock
        from bot.scheduler import Timing

        if not 0 < args.renew_seconds < args.lease_seconds:
            raise SystemExit("error: --renew-seconds must be positive and shorter than --lease-seconds")
        asyncio.run(run_clock(settings, Timing(lease_seconds=args.lease_seconds,
                                               renew_seconds=args.renew_seconds)))


if __name__ == "__main__":
    sys.exit(main())

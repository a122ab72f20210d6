"""The JSON objects Discord's API and gateway carry (users, a guild, channels, threads,
messages, interactions), shaped as Discord documents them, for the stand-in
(:mod:`tests.fakes.discord_api`). Only the fields discord.py reads are filled in."""

from __future__ import annotations

import itertools
import time
from typing import Any

Json = dict[str, Any]

_ids = itertools.count(1_300_000_000_000_000_000)


def snowflake() -> str:
    """A new id, as Discord gives them: increasing numbers, as strings."""
    return str(next(_ids))


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def user(uid: str, *, bot: bool = False) -> Json:
    return {
        "id": uid,
        "username": f"bot{uid[-4:]}" if bot else f"user{uid}",
        "discriminator": "0",
        "global_name": None if bot else f"Person {uid}",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member(uid: str | None = None) -> Json:
    """A guild member: with its user inside (interactions) or without (messages)."""
    found: Json = {
        "roles": [],
        "joined_at": now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "permissions": "2147483647",
    }
    if uid is not None:
        found["user"] = user(uid)
    return found


def text_channel(cid: str, guild: str) -> Json:
    return {
        "id": cid,
        "type": 0,
        "guild_id": guild,
        "name": "agents",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def thread(tid: str, parent: str, guild: str, owner: str, name: str, archive: int) -> Json:
    return {
        "id": tid,
        "type": 11,
        "guild_id": guild,
        "parent_id": parent,
        "owner_id": owner,
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": archive,
            "archive_timestamp": now(),
            "locked": False,
        },
    }


def guild(gid: str, owner: str, channels: list[Json], threads: list[Json]) -> Json:
    return {
        "id": gid,
        "name": "tmuxorch test",
        "icon": None,
        "owner_id": owner,
        "unavailable": False,
        "large": False,
        "member_count": 2,
        "joined_at": now(),
        "roles": [
            {
                "id": gid,
                "name": "@everyone",
                "color": 0,
                "hoist": False,
                "position": 0,
                "permissions": "2147483647",
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "emojis": [],
        "stickers": [],
        "features": [],
        "members": [],
        "channels": channels,
        "threads": threads,
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "nsfw_level": 0,
        "preferred_locale": "en-US",
    }


def message(
    mid: str,
    channel: str,
    guild: str,
    author: Json,
    content: str,
    *,
    components: list[Json] | None = None,
    reference: str | None = None,
    flags: int = 0,
) -> Json:
    found: Json = {
        "id": mid,
        "type": 19 if reference else 0,
        "channel_id": channel,
        "guild_id": guild,
        "author": author,
        "content": content,
        "timestamp": now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "flags": flags,
        "components": components or [],
    }
    if not author.get("bot"):
        found["member"] = member()
    if reference:
        found["message_reference"] = {
            "type": 0,
            "message_id": reference,
            "channel_id": channel,
            "guild_id": guild,
        }
    return found


def application(app_id: str, owner: Json) -> Json:
    return {
        "id": app_id,
        "name": "tmuxorch test bot",
        "icon": None,
        "description": "",
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": owner,
        "verify_key": "0" * 64,
        "flags": 1 << 19,  # GATEWAY_MESSAGE_CONTENT_LIMITED: the intent is granted
        "team": None,
        "summary": "",
    }


def interaction(
    iid: str, token: str, app_id: str, guild: str, channel: Json, who: str, pressed: Json
) -> Json:
    """A button press (a component interaction) on the message ``pressed``."""
    custom_id = pressed["custom_id"]
    return {
        "id": iid,
        "application_id": app_id,
        "type": 3,
        "data": {"custom_id": custom_id, "component_type": 2},
        "guild_id": guild,
        "channel_id": channel["id"],
        "channel": channel,
        "member": member(who),
        "token": token,
        "version": 1,
        "message": pressed["message"],
        "app_permissions": "2147483647",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }

"""``trustees.json``: who may change what in the data tree.

Trustees (GitHub logins) own ``overrides/`` and the registry's configuration; the curator's
bot identity owns ``packages/`` and ``state/`` (:mod:`curator.review.policy` applies the rules,
:mod:`curator.review.codeowners` renders the matching CODEOWNERS files).

Logins are GitHub *user* logins (a machine user for the bot): CODEOWNERS only accepts users
and teams, so a GitHub App's ``name[bot]`` login cannot own paths there.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# GitHub user logins: letters, digits and single inner hyphens, at most 39 characters.
LOGIN_PATTERN = r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$"
MAX_LOGIN = 39
# ``Name <email>`` as git writes an author, no control characters, no angle brackets inside.
GIT_AUTHOR_PATTERN = r"^[^<>\x00-\x1f\x7f]{1,100} <[^<>\s@]{1,64}@[^<>\s@]{1,190}>$"
MAX_TRUSTEES = 200


class Trustee(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(pattern=LOGIN_PATTERN, max_length=MAX_LOGIN, description="GitHub login")
    name: str | None = Field(None, min_length=1, max_length=200, description="display name")


class BotIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(
        pattern=LOGIN_PATTERN,
        max_length=MAX_LOGIN,
        description="GitHub login (a machine user) whose token the sync job pushes with",
    )
    git_author: str = Field(
        pattern=GIT_AUTHOR_PATTERN,
        description="the author the curator writes on sync commits: 'Name <email>'",
    )


class TrusteesFile(BaseModel):
    """``trustees.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    trustees: list[Trustee] = Field(
        default_factory=list,
        max_length=MAX_TRUSTEES,
        description="who may change overrides/, registry.json, trustees.json and CODEOWNERS",
    )
    bot: BotIdentity = Field(description="the only identity that may change packages/ and state/")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        seen: set[str] = set()
        for trustee in self.trustees:
            key = trustee.login.casefold()
            if key in seen:
                raise ValueError(f"trustee {trustee.login} is listed twice")
            seen.add(key)
        if self.bot.login.casefold() in seen:
            raise ValueError(f"the bot {self.bot.login} must not also be a trustee")
        return self

    def is_trustee(self, login: str) -> bool:
        """GitHub logins are case-insensitive."""
        key = login.casefold()
        return any(t.login.casefold() == key for t in self.trustees)

    def is_bot(self, login: str) -> bool:
        return self.bot.login.casefold() == login.casefold()

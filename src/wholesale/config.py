"""Settings read from WHOLESALE_* environment variables; zero variables give a working SQLite setup."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where `wholesale serve` listens unless told otherwise (`make run`).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _default_database_url() -> str:
    return f"sqlite:///{Path('var').absolute() / 'wholesale.db'}"


class Settings(BaseSettings):
    """Process-wide configuration."""

    model_config = SettingsConfigDict(env_prefix="WHOLESALE_", extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    # Origin clients reach us at (https://host[:port]). Empty: API responses take it from each request's Host, and
    # links made outside a request (the consent email, the demo's printout) use `serve_base_url`.
    public_base_url: str = ""
    # Where `wholesale serve` listens: serve sets it from --host/--port for its own process and in-process workers.
    serve_base_url: str = DEFAULT_BASE_URL
    sandbox: bool = False
    # Proxies whose X-Forwarded-Proto and X-Forwarded-For are believed (comma-separated addresses or CIDRs, `*`
    # for any, empty for none): set it to the TLS-terminating load balancer so portal cookies are Secure and
    # rate limits see the real client. The default trusts a proxy on the same host, as uvicorn does.
    forwarded_allow_ips: str = "127.0.0.1"
    # Requests per token per minute; 0 disables limiting. Generous by default (Webex-like clients retry on 429).
    rate_limit_per_minute: int = 6000
    rate_limit_burst: int = 600
    # Where the buckets live: `process` (each API process counts alone, so N processes give N times the limit) or
    # `database` (one upsert per request, shared by every process: docs/SCALING.md).
    rate_limit_store: Literal["process", "database"] = "process"
    # Largest request body accepted (bytes); larger ones get 413 before they are read. 1,000 bulk rows of
    # ordinary subscribers are ~150 KB; 1 MiB leaves room for long names without letting a body fill memory.
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    log_requests: bool = True
    # Identifies this process to DBOS: workflows it owned are recovered by the next process with the same id.
    executor_id: str = "local"
    worker_concurrency: int = 8
    # `wholesale worker` lowers its CPU priority by this much (nice), so API processes sharing its cores go first.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # Seconds between polls of the provisioning queue. Each poll costs the process CPU whether or not it finds
    # work (an idle server spent 12 % of a core at 0.05 s, 8 % at 0.1 s) and adds at most this to a run's start.
    queue_polling_interval: float = 0.1
    # Most provisioning runs one batch takes (one workflow, one transaction). On SQLite a batch holds the one
    # writer for its whole transaction, so requests wait up to a batch's time (docs/PERFORMANCE.md).
    provisioning_batch_size: int = Field(default=25, ge=1, le=1000)
    # Portal sessions end after this many idle minutes, or this many hours after sign-in whatever happens;
    # this many wrong passwords in a row lock an account for the given minutes.
    portal_idle_minutes: int = 30
    portal_session_hours: int = 12
    portal_lockout_attempts: int = 10
    portal_lockout_minutes: int = 15
    # Seconds a resolved token stays cached in-process (revocation takes at most this long to bite).
    token_cache_seconds: float = 5.0
    db_pool_size: int = 20
    # Files the service keeps (billing report CSVs, the generated signing key): shared by every process.
    data_dir: str = Field(default_factory=lambda: str(Path("var/data").absolute()))
    # Signs download links (billing tempDownloadURL). Empty: a random key is created once in data_dir.
    secret_key: str = ""
    # Days the partner event feed (GET /v1/wholesale/events) keeps an event.
    event_retention_days: int = 30
    # Webhooks (docs/WEBHOOKS.md): targets besides public https ones (host names, .suffix patterns, CIDRs), how
    # often each worker looks for webhooks with events to deliver, and the time limit of one delivery.
    webhook_allowed_hosts: str = ""
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0

    @property
    def link_base_url(self) -> str:
        """The origin for links made outside a request: public_base_url, else where `wholesale serve` listens."""
        return (self.public_base_url or self.serve_base_url).rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file."""
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """Return the cached settings (tests call get_settings.cache_clear() after changing the environment)."""
    return Settings()

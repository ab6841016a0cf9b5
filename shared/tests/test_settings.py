from __future__ import annotations

import pytest
from pydantic import Field, SecretStr, ValidationError

from shared.settings import DEV_SECRET_MARKER, ServiceSettings


class SettingsWithSecret(ServiceSettings):
    signing_secret: SecretStr = SecretStr(DEV_SECRET_MARKER + "signing")


class SettingsWithSecretMap(ServiceSettings):
    client_secrets: dict[str, SecretStr] = Field(default_factory=dict)


def test_dev_default_secret_is_accepted_in_dev() -> None:
    assert SettingsWithSecret(environment="dev").signing_secret.get_secret_value()


def test_dev_default_secret_is_refused_in_prod() -> None:
    with pytest.raises(ValidationError, match="signing_secret"):
        SettingsWithSecret(environment="prod")


def test_real_secret_is_accepted_in_prod() -> None:
    settings = SettingsWithSecret(environment="prod", signing_secret=SecretStr("s3cr3t-from-vault"))
    assert not settings.is_dev


def test_dev_default_inside_a_map_of_secrets_is_refused_in_prod() -> None:
    with pytest.raises(ValidationError, match=r"client_secrets\.trades"):
        SettingsWithSecretMap(
            environment="prod",
            client_secrets={
                "forms": SecretStr("real"),
                "trades": SecretStr(DEV_SECRET_MARKER + "x"),
            },
        )


def test_service_client_secret_from_the_environment_is_guarded_in_prod() -> None:
    from shared.service_auth import ServiceTokenProvider

    env = {
        "TRADES_TOKEN_URL": "http://gateway/api/v1/auth/token",
        "TRADES_SERVICE_CLIENT_ID": "svc-trades",
        "TRADES_SERVICE_CLIENT_SECRET": DEV_SECRET_MARKER + "trades",
    }
    assert ServiceTokenProvider.from_env("TRADES_", env) is not None  # dev: accepted
    with pytest.raises(ValueError, match="TRADES_SERVICE_CLIENT_SECRET"):
        ServiceTokenProvider.from_env("TRADES_", {**env, "TRADES_ENVIRONMENT": "prod"})

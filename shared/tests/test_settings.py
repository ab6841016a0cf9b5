from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from shared.settings import DEV_SECRET_MARKER, ServiceSettings


class SettingsWithSecret(ServiceSettings):
    signing_secret: SecretStr = SecretStr(DEV_SECRET_MARKER + "signing")


def test_dev_default_secret_is_accepted_in_dev() -> None:
    assert SettingsWithSecret(environment="dev").signing_secret.get_secret_value()


def test_dev_default_secret_is_refused_in_prod() -> None:
    with pytest.raises(ValidationError, match="signing_secret"):
        SettingsWithSecret(environment="prod")


def test_real_secret_is_accepted_in_prod() -> None:
    settings = SettingsWithSecret(environment="prod", signing_secret=SecretStr("s3cr3t-from-vault"))
    assert not settings.is_dev

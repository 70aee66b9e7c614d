"""A config's refusal: the UserError building it raises, checked to be one line."""

from __future__ import annotations

import pytest

from xopipe.errors import UserError
from xopipe.experiment import build_experiment


def user_error(make_config, *overrides) -> str:
    with pytest.raises(UserError) as caught:
        build_experiment(make_config(*overrides))
    message = str(caught.value)
    assert "\n" not in message
    return message

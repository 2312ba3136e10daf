"""The risk score's weights refitted on the organisation's own leavers: the admin's
action (Users & settings) and the ``fit-weights`` command.

The fit is ``leaving.fit_risk_weights`` on the stored helper weeks of completed weeks
(the same training end as the leaving model).  Saving writes the weights as the
``risk_weights`` setting with what they were fitted on (``risk_weights_fit``); the saved
settings' fingerprint changes, so the stored helper weeks are rebuilt on the next read
and every page, export and the ``risk`` command use the new weights.  Reverting saves
both back to empty: the national weights again."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from burnout import leaving, materialise, risk
from burnout.store import frames, helper_weeks
from burnout.store import settings as saved_settings
from burnout.views.data import capped_as_of

__all__ = ["fit", "revert", "save_fitted"]


def fit(engine: Engine) -> leaving.FittedWeights:
    """The weights fitted on the organisation's history up to the last completed week
    (the national ones, with the reason, below ``leaving.MIN_LEAVERS`` leavers)."""
    as_of = capped_as_of(helper_weeks.horizon_of(materialise.ensure(engine)))
    end = leaving.training_end(None, as_of)
    settings = saved_settings.load(engine)
    if end is None:
        return leaving.FittedWeights(dict(risk.DEFAULT_WEIGHTS), leaving.WEIGHTS_NATIONAL,
                                     "No records yet, so the national defaults are used.")
    history = helper_weeks.read(engine, None, up_to=end, only=leaving.HISTORY_COLUMNS)
    return leaving.fit_risk_weights(frames.roster(engine, settings), history, end)


def save_fitted(engine: Engine, fitted: leaving.FittedWeights, actor: str) -> None:
    """Save fitted weights as the organisation's; national ones are not saved (revert instead)."""
    if not fitted.fitted:
        raise ValueError("only weights fitted on the organisation are saved; revert to use the national ones")
    saved_settings.save(engine, {"risk_weights": fitted.weights, "risk_weights_fit": fitted.record()}, actor=actor)


def revert(engine: Engine, actor: str) -> None:
    """Back to the national weights."""
    saved_settings.save(engine, {"risk_weights": None, "risk_weights_fit": None}, actor=actor)

"""Maximum likelihood and generative versus discriminative classifiers.

fit = fit_family("gamma", x, mask=observed)       # x: [N, F], one compiled call
fit.params["shape"], fit.params["rate"]           # [F] each; fit.trace: [T, F]

params = generative.fit(x, y, families=("gamma",) * F, num_classes=2, mask=observed)
generative.predict_proba(params, x_test, observed_test)       # Bayes' rule, [N, 2]
params = logistic.fit(x, y, inverse_regularization=1.0, mask=observed)
logistic.predict_proba(params, x_test, observed_test)         # [N, 2]
"""

from genjax.stats import generative, logistic
from genjax.stats.densities import (
    BERNOULLI,
    FAMILIES,
    GAMMA,
    GAUSSIAN,
    Family,
    bernoulli_log_density,
    gamma_log_density,
    gamma_moments,
    gaussian_closed_form,
    gaussian_log_density,
    get_family,
    weighted_moments,
)
from genjax.stats.mle import (
    MLEFit,
    fit_family,
    fit_mle,
    initial_params,
    mean_log_likelihood,
    newton_ascent,
)
from genjax.stats.scoring import accuracy, log_loss

fit_generative = generative.fit
generative_predict_proba = generative.predict_proba
fit_logistic = logistic.fit
logistic_predict_proba = logistic.predict_proba

__all__ = [
    "BERNOULLI",
    "FAMILIES",
    "GAMMA",
    "GAUSSIAN",
    "Family",
    "MLEFit",
    "accuracy",
    "bernoulli_log_density",
    "fit_family",
    "fit_generative",
    "fit_logistic",
    "fit_mle",
    "gamma_log_density",
    "gamma_moments",
    "gaussian_closed_form",
    "gaussian_log_density",
    "generative",
    "generative_predict_proba",
    "get_family",
    "initial_params",
    "log_loss",
    "logistic",
    "logistic_predict_proba",
    "mean_log_likelihood",
    "newton_ascent",
    "weighted_moments",
]

"""The user's word as labels: a per-user correction on top of the strength model.

"Not a relationship" is a label 0 and "this one matters" a label 1 on the tie it was given
on. A snooze is not a label: it says "not now" (the user is busy, or the tie is paused), not
that the tie is weak, and it expires; learning from it would lower a close friend's likes
whenever the user snoozed the friend. Snoozed ties stay out of the list of ties to deepen
until their date (recommend.py), and that is all a snooze does.

The correction is a penalised logistic regression with the base model's logit as offset:

    P(label = 1 | tie) = sigmoid(offset + f(tie)),   f = g(z) + h(domain),

fitted on the labelled ties only (`offset` is the logit of the tie's strength as the base
model gives it, so with no labels nothing moves). `z` are the base model's own features,
standardised over the user's ties. `g` is a smooth function of them under an L2 (Gaussian
process) penalty with a squared-exponential kernel: the penalised logistic on a feature
map of the same features, whose correction fades with distance from the labelled ties. A
linear correction (a linear kernel) would tilt the whole space instead: every tie on the
far side of the features' means would move the other way, and untouched ties outside the
pattern must barely move. `h` is a ridge-penalised term per contact domain, because a
vendor's people need not look alike in their mail (one writes weekly, another quarterly)
yet are alike to the user; the service gives domains only for organisations (never for
free-mail providers nor the user's own organisation), so a label on one gmail.com friend
says nothing about another.

The fit is the mode of the posterior (Newton's method as in Rasmussen & Williams,
Gaussian Processes for Machine Learning, algorithm 3.1). At the mode the correction of any
tie is sum_i k(tie, i) * (y_i - p_i) over the labelled ties i, with 0 <= k <= AMPLITUDE +
DOMAIN_AMPLITUDE and |y_i - p_i| < 1: one label moves no logit by more than that sum of
amplitudes, labels 0 never raise a tie and labels 1 never lower one.

A tie the user marked stays where the user put it: its strength is the base strength
halved ("not a relationship") or raised by a quarter of the remainder ("matters"), whatever
the correction does or the other labels say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

LABELS: dict[str, int] = {"not_relationship": 0, "matters": 1}
AMPLITUDE = 0.5  # prior variance of the feature term g (logit units squared)
DOMAIN_AMPLITUDE = 0.15  # prior variance of a domain's term h (0.2 before strength was ranked by the
# blended score: its vendor ties came out nearer 50, where one label moved them > 6 points)
LENGTH_SCALE = 0.3  # of g, in standard deviations per feature (root mean square)
MOVED = 5.0  # strength points the layer must move an unmarked tie before it says so
NOT_RELATIONSHIP_KEEP = 0.5  # a marked "not a relationship": half its base strength
MATTERS_GAIN = 0.25  # a marked "matters": a quarter of the remainder added
_EPS = 1e-4  # probabilities are kept inside [eps, 1 - eps] before taking logits


def logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(np.asarray(p, float), _EPS, 1.0 - _EPS)
    out: NDArray[np.float64] = np.log(q) - np.log1p(-q)
    return out


def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
    return out


def labels_of(contacts: Sequence[int] | NDArray[np.int64], feedback: Mapping[int, str]) -> dict[int, int]:
    """Contact index -> label (0 or 1) from person id -> the user's latest word."""
    out: dict[int, int] = {}
    for i, person in enumerate(np.asarray(contacts).tolist()):
        label = LABELS.get(feedback.get(int(person), ""))
        if label is not None:
            out[i] = label
    return out


def pinned(base_p: NDArray[np.float64], label: int) -> NDArray[np.float64]:
    """Where the user's word puts a marked tie, from its base probability."""
    base_p = np.asarray(base_p, float)
    if label == 0:
        out: NDArray[np.float64] = base_p * NOT_RELATIONSHIP_KEEP
        return out
    return base_p + (1.0 - base_p) * MATTERS_GAIN


def word_lines(labels: Mapping[int, int], base: NDArray[np.float64], adjusted: NDArray[np.float64]) -> dict[int, str]:
    """Contact index -> the line that tells the user what their word did to the tie."""
    out = {
        i: "You marked this tie as not a relationship" if y == 0 else "You marked this tie as one that matters"
        for i, y in labels.items()
    }
    moved = np.asarray(adjusted, float) - np.asarray(base, float)
    for i in np.flatnonzero(np.abs(moved) >= MOVED).tolist():
        if i not in out:
            d = abs(float(moved[i]))
            out[i] = (
                f"Down {d:.0f} because you marked similar ties as not a relationship"
                if moved[i] < 0
                else f"Up {d:.0f} because you marked similar ties as ones that matter"
            )
    return out


@dataclass(frozen=True)
class FeedbackLayer:
    """A fitted correction: call `adjust` on any features (now, or 30 days ago)."""

    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    z_labelled: NDArray[np.float64]  # standardised features of the labelled ties
    domains_labelled: tuple[str | None, ...]
    alpha: NDArray[np.float64]  # y_i - p_i at the mode, one per labelled tie
    labels: Mapping[int, int]
    amplitude: float = AMPLITUDE
    domain_amplitude: float = DOMAIN_AMPLITUDE
    length_scale: float = LENGTH_SCALE

    def kernel(self, z: NDArray[np.float64], domains: Sequence[str | None] | None) -> NDArray[np.float64]:
        """k(tie, labelled tie) for every row of z: (n, n_labelled), each in [0, amplitudes]."""
        return _kernel(
            z,
            domains,
            self.z_labelled,
            self.domains_labelled,
            self.amplitude,
            self.domain_amplitude,
            self.length_scale,
        )

    def correction(self, X: NDArray[np.float64], domains: Sequence[str | None] | None = None) -> NDArray[np.float64]:
        """f(tie) in logit units for every row of X (zeros when nothing is labelled)."""
        X = np.asarray(X, float)
        if not len(self.alpha):
            return np.zeros(len(X))
        f: NDArray[np.float64] = self.kernel((X - self.mean) / self.scale, domains) @ self.alpha
        return f

    def adjust(
        self, X: NDArray[np.float64], base_logits: NDArray[np.float64], domains: Sequence[str | None] | None = None
    ) -> NDArray[np.float64]:
        """Adjusted logits: the base plus the correction, and marked ties pinned."""
        base_logits = np.asarray(base_logits, float)
        out = base_logits + self.correction(X, domains)
        for i, label in self.labels.items():
            out[i] = logit(pinned(sigmoid(base_logits[i : i + 1]), label))[0]
        return out


def fit_layer(
    X: NDArray[np.float64],
    base_logits: NDArray[np.float64],
    labels: Mapping[int, int],
    domains: Sequence[str | None] | None = None,
    *,
    amplitude: float = AMPLITUDE,
    domain_amplitude: float = DOMAIN_AMPLITUDE,
    length_scale: float = LENGTH_SCALE,
) -> FeedbackLayer:
    """Fit the correction on rows of X (the user's ties, the base model's features) with
    `labels`: row index -> 0 or 1. `domains`: one per row, None where a tie has none."""
    X = np.asarray(X, float)
    base_logits = np.asarray(base_logits, float)
    if X.ndim != 2 or base_logits.shape != (len(X),):
        raise ValueError("X must be (ties x features) and base_logits one per tie")
    if domains is not None and len(domains) != len(X):
        raise ValueError("domains must give one entry (or None) per tie")
    bad = {i: y for i, y in labels.items() if not 0 <= i < len(X) or y not in (0, 1)}
    if bad:
        raise ValueError(f"labels must map tie indices to 0 or 1, got {bad}")
    mean = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
    sd = X.std(axis=0) if len(X) else np.ones(X.shape[1])
    scale = np.where(sd > 1e-9, sd, 1.0)
    rows = np.array(sorted(labels), dtype=np.int64)
    z_l = (X[rows] - mean) / scale
    dom_l = tuple(domains[i] for i in rows.tolist()) if domains is not None else (None,) * len(rows)
    y = np.array([labels[i] for i in rows.tolist()], float)
    K = _kernel(z_l, dom_l, z_l, dom_l, amplitude, domain_amplitude, length_scale)
    f = _mode(K, base_logits[rows], y) if len(rows) else np.zeros(0)
    alpha = y - sigmoid(base_logits[rows] + f)
    return FeedbackLayer(mean, scale, z_l, dom_l, alpha, dict(labels), amplitude, domain_amplitude, length_scale)


def adjusted_logits(
    X: NDArray[np.float64],
    base_logits: NDArray[np.float64],
    labels: Mapping[int, int],
    domains: Sequence[str | None] | None = None,
) -> NDArray[np.float64]:
    """The hook scoring calls: fit on the labels and return every tie's adjusted logit."""
    return fit_layer(X, base_logits, labels, domains).adjust(X, base_logits, domains)


def _kernel(
    z: NDArray[np.float64],
    domains: Sequence[str | None] | None,
    z_l: NDArray[np.float64],
    domains_l: Sequence[str | None],
    amplitude: float,
    domain_amplitude: float,
    length_scale: float,
) -> NDArray[np.float64]:
    d = max(z.shape[1], 1)
    sq = (z * z).sum(axis=1)[:, None] + (z_l * z_l).sum(axis=1)[None, :] - 2.0 * z @ z_l.T
    # Mean squared difference per feature, so the length scale does not depend on how
    # many features the base model reads.
    K: NDArray[np.float64] = amplitude * np.exp(-np.maximum(sq, 0.0) / (2.0 * d * length_scale**2))
    if domains is not None and domain_amplitude > 0:
        mine = np.array(list(domains), dtype=object)[:, None]
        theirs = np.array(list(domains_l), dtype=object)[None, :]
        same = (mine == theirs) & (mine != None)  # noqa: E711 (elementwise on objects)
        K = K + domain_amplitude * same
    return K


def _mode(K: NDArray[np.float64], offset: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """The posterior mode of f at the labelled ties (Newton, with step halving)."""
    from scipy.linalg import cho_factor, cho_solve

    n = len(y)
    a = np.zeros(n)
    f = np.zeros(n)

    def objective(a: NDArray[np.float64], f: NDArray[np.float64]) -> float:
        z = offset + f
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * a @ f)

    best = objective(a, f)
    for _ in range(50):
        p = sigmoid(offset + f)
        W = p * (1.0 - p)
        s = np.sqrt(W)
        B = np.eye(n) + s[:, None] * K * s[None, :]
        b = W * f + (y - p)
        step = b - s * cho_solve(cho_factor(B), s * (K @ b))
        t = 1.0
        while True:
            a_new = a + t * (step - a)
            f_new = K @ a_new
            value = objective(a_new, f_new)
            if value <= best + 1e-12 or t < 1e-4:
                break
            t *= 0.5
        done = best - value < 1e-10
        a, f, best = a_new, f_new, min(best, value)
        if done:
            break
    return f

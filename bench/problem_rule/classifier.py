"""The learned half of the problem flag: train it, compare it with the phrases, export its weights.

A logistic regression over word 1- and 2-grams (TF-IDF, sublinear term frequency, L2 norm, balanced
classes; the regularisation strength chosen by 5-fold cross-validation on the training posts alone),
trained on the development parts of both labelled sets (the real corpus and the domain set, with
the settled labels ``measure.py`` uses). Its features come from ``lakehouse.domain.problem_model``,
the code that scores posts at run time, so training and serving cannot drift apart.

``python -m bench.problem_rule.classifier`` prints, on each set's held-out part: the phrases alone,
the model alone at two thresholds (0.5, and 0.35 for recall), and what ships (phrases or model, at
0.5), with each F1 as a ratio of the phrases'. ``--export`` writes the model's weights to
``lakehouse/domain/problem_model_weights.py``. Needs scikit-learn (requirements-dev) and
``../shared/reddit-real`` (the real set's texts).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV

from bench.problem_rule.measure import (
    REAL_CORPUS,
    ROOT,
    Post,
    Score,
    labelled_sets,
    load_labels,
    load_real_posts,
    score,
    tally,
)
from lakehouse.domain import problem_model
from lakehouse.domain.problem_rule import is_problem, match_problem, normalised

WEIGHTS = ROOT / "lakehouse" / "domain" / "problem_model_weights.py"
THRESHOLDS = (0.5, 0.35)
FLOORS = (0, 10, 20, 30, 40, 60, 80)  # body words below which the model is not asked (``--floors``)
MODEL_ONLY = Path(__file__).resolve().parent / "labels_model_only.jsonl"
STRENGTHS = (0.3, 1.0, 3.0, 10.0, 30.0)  # the inverse regularisation strengths cross-validation chooses from


def post_features(post: Post) -> list[str]:
    return problem_model.features(problem_model.tokens(*normalised(post.title, post.body)))


@dataclass(frozen=True)
class Trained:
    vectorizer: TfidfVectorizer
    model: LogisticRegressionCV
    posts: int

    def probability(self, posts: list[Post]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.vectorizer.transform(posts))[:, 1])


def train(posts: list[Post]) -> Trained:
    vectorizer = TfidfVectorizer(analyzer=post_features, min_df=2, sublinear_tf=True)
    model = LogisticRegressionCV(
        Cs=list(STRENGTHS),
        cv=5,
        scoring="neg_log_loss",
        class_weight="balanced",
        max_iter=5000,
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    )
    model.fit(vectorizer.fit_transform(posts), np.array([p.label for p in posts]))
    return Trained(vectorizer, model, len(posts))


def development(sets: dict[str, list[Post]]) -> list[Post]:
    return [p for posts in sets.values() for p in posts if p.split == "dev"]


def compare(sets: dict[str, list[Post]]) -> list[tuple[str, str, Score]]:
    trained = train(development(sets))
    rows: list[tuple[str, str, Score]] = []
    for name, posts in sets.items():
        held_out = [p for p in posts if p.split == "holdout"]
        if not held_out:
            continue
        rows.append((name, "phrases", score(held_out, lambda t, b: match_problem(t, b, learned=False).is_problem)))
        probability = trained.probability(held_out)
        for threshold in THRESHOLDS:
            verdicts = zip((probability >= threshold).tolist(), (p.label for p in held_out), strict=True)
            rows.append((name, f"model >= {threshold}", tally(verdicts)))
        rows.append((name, "shipped: either", score(held_out, is_problem)))
    return rows


def render(rows: list[tuple[str, str, Score]]) -> str:
    header = (
        f"{'held-out set':<14} {'who':<16} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>6} {'recall':>6} {'F1':>6}"
        f" {'F1/phrases':>10}"
    )
    lines = [header, "-" * len(header)]
    phrases = {name: s.f1 for name, who, s in rows if who == "phrases"}
    for name, who, s in rows:
        ratio = s.f1 / phrases[name] if phrases[name] else float("nan")
        lines.append(
            f"{name:<14} {who:<16} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
            f" {ratio:>10.2f}"
        )
    return "\n".join(lines)


def floors(sets: dict[str, list[Post]], candidates: tuple[int, ...] = FLOORS) -> str:
    """How the floor of body words was chosen: the development parts, and the model-only posts judged."""
    judged = {row["id"]: row["label"] == "problem" for row in load_labels(MODEL_ONLY)}
    only = load_real_posts([{"id": i, "label": v} for i, v in judged.items()])
    lines = [
        f"{'floor':>5}  " + "  ".join(f"{name + ' dev P/R':>18}" for name in sets) + "  model-only: admitted, problems"
    ]
    for floor in candidates:

        def flag(title: str | None, body: str | None, floor: int = floor) -> bool:
            learned = problem_model.says_problem(*normalised(title, body), min_body_words=floor)
            return learned or match_problem(title, body, learned=False).is_problem

        cells = []
        for posts in sets.values():
            s = score([p for p in posts if p.split == "dev"], flag)
            cells.append(f"{s.precision:>8.3f}/{s.recall:.3f}")
        admitted = [p for p in only if flag(p.title, p.body)]
        lines.append(
            f"{floor:>5}  "
            + "  ".join(f"{c:>18}" for c in cells)
            + f"  {len(admitted):>8} {sum(p.label for p in admitted):>9}"
        )
    return "\n".join(lines)


def _quoted(text: str) -> str:
    """A string literal as ruff's formatter writes it (double quotes), so the generated file stays formatted."""
    return json.dumps(text, ensure_ascii=False)


def weights_module(trained: Trained, sets: dict[str, list[Post]]) -> str:
    """The generated module: every feature's (idf, coefficient), the intercept, and what it was trained on."""
    names = trained.vectorizer.get_feature_names_out()
    idf, coefficients = trained.vectorizer.idf_, trained.model.coef_[0]
    trained_on = ", ".join(f"{sum(p.split == 'dev' for p in posts)} {name}" for name, posts in sets.items())
    rows = (f"{n}\t{float(i)!r}\t{float(c)!r}" for n, i, c in zip(names, idf, coefficients, strict=True))
    lines = [
        '"""Generated by ``python -m bench.problem_rule.classifier --export``: do not edit (see problem_model)."""',
        "",
        f"TRAINED_ON = {_quoted(f'development posts: {trained_on}')}",
        f"SCIKIT_LEARN = {_quoted(sklearn.__version__)}",
        f"C = {float(np.asarray(trained.model.C_).ravel()[0])!r}",
        f"INTERCEPT = {float(trained.model.intercept_[0])!r}",
        "# One feature a line: its name, inverse document frequency and coefficient, tab-separated. A string, not",
        "# a dict literal: a type checker reads one constant instead of thousands of expressions.",
        'FEATURES = r"""',
        *rows,
        '"""',
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", action="store_true", help=f"write the trained weights to {WEIGHTS}")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help=argparse.SUPPRESS)
    parser.add_argument("--floors", action="store_true", help="how each floor of body words does (dev parts only)")
    args = parser.parse_args(argv)
    sets = labelled_sets()
    if "real" not in sets:
        print(f"needs the real corpus for the real set's texts: {REAL_CORPUS} is absent", file=sys.stderr)
        return 2
    if args.export:
        args.out.write_text(weights_module(train(development(sets)), sets), encoding="utf-8")
        print(f"wrote {args.out}")
    print(floors(sets) if args.floors else render(compare(sets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

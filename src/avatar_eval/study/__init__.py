"""Human preference studies: a pairwise web app (2AFC / GSB) and its analysis.

* :func:`avatar_eval.study.create.create_study` builds a study directory from a run;
* :func:`avatar_eval.study.app.create_app` is the FastAPI app (``avatar-eval study serve``);
* :func:`avatar_eval.study.analysis.analyze_study` computes win rates, GSB scores,
  Bradley–Terry strengths, agreement, attention-check exclusions and the metric–human
  Spearman correlations (THEval Table 2 layout).

See docs/study.md.
"""

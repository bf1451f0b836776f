"""``socinf run --help`` and ``socinf serve --help``: Hydra's help template (``hydra.help.template`` in
``conf/config.yaml``) filled by the ``socinf_help`` resolver.

Each config group gets one line saying what it chooses and a line of its options (read from ``conf/``, the
default marked ``*``); the full config is left to ``--cfg job``. The group descriptions are written here once
(``tests/test_help.py`` checks that every group of ``conf/`` has one).
"""
from __future__ import annotations

import dataclasses
import re
import textwrap

GROUPS = {
    "dataset": "the corpus (tweet, weibo, clue), or your own file: csv (a feature table), text (labelled texts)",
    "target": "the model under audit: trained here (logistic, mlp, xgboost) or behind an API (remote)",
    "method": "the attack: socinf (the paper's), shadow, lira, rmia; threshold attacks run beside each",
    "synthesis": "SocInf's attacker records: statistics (population marginals), format (walks), population",
    "mimic": "SocInf's GAN that learns to answer like the target (gan_paper: the paper's, no fidelity term)",
    "attack": "SocInf's and Shadow's attack model",
    "defense": "what the model owner does against the attack (paper Section V)",
    "experiment": "a paper experiment as a sweep: socinf run -m experiment=NAME",
    "experiment/cell": "one Table II cell (dataset and classes): +experiment/cell=NAME",
    "experiment/protocol": "honest (default) or the paper's own protocol: +experiment/protocol=NAME",
    "experiment/defense": "one point of experiment=defenses' grid",
    "experiment/overfit": "one overfitting level of experiment=overfitting (algorithm_0..5)",
    "experiment/slice": "the overfitting experiment's data slice",
    "experiment/sota_cell": "one target of experiment=sota",
    "experiment/sota_method": "one attack of experiment=sota",
    "experiment/dp_setting": "one privacy setting of experiment=dp_audit (a DP target at one epsilon, or none)",
}

COMMANDS = {
    "run": {
        "title": "socinf run: does this classifier leak its training data, how much, and how sure are we?\n"
                 "A black-box membership-inference audit: SocInf (IEEE TCSS 2019), Shadow training, LiRA, RMIA and\n"
                 "threshold attacks, scored on members and non-members the evaluator knows.",
        "usage": ["socinf run [group=option ...] [key=value ...]      one audit into outputs/DATE/TIME/",
                  "socinf run ... --dry-run                            the protocol and the target queries; runs nothing",
                  "socinf run -m key=a,b ... [--dry-run]               a sweep: one job per combination",
                  "socinf run ... --cfg job                            the composed config: every key, its value"],
        "groups": list(GROUPS),
        "examples": ["socinf run dataset=tweet target=xgboost",
                     "socinf run dataset=text dataset.path=my_posts.csv target=logistic   # your own texts",
                     "socinf run method=lira                                              # another attack",
                     "socinf run threat=owner method=lira method.online=true              # the auditor's worst case",
                     "socinf run -m experiment=table2 seeds=[0,1]                         # a paper table",
                     "socinf report outputs/DATE/TIME                                     # tables, figures"],
        "footer": "writes metrics.json, membership_scores.csv and run.log to the run dir; docs/configuration.md "
                  "lists every key",
    },
    "serve": {
        "title": "socinf serve: train the configured model on the member split, exactly as a local target is\n"
                 "trained, and serve it over HTTP (a stand-in prediction API) until Ctrl-C.",
        "usage": ["socinf serve [group=option ...] [key=value ...]    the server, its split in the run dir",
                  "socinf serve ... --cfg job                          the composed config"],
        "groups": ["dataset", "defense"],
        "examples": ["export SOCINF_API_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')",
                     "socinf serve dataset=tweet serve.model=logistic hydra.run.dir=outputs/serve-tweet",
                     "socinf run dataset=tweet target=remote target.url=http://127.0.0.1:8000 "
                     "target.server_dir=outputs/serve-tweet"],
        "footer": "the API key is read from SOCINF_API_KEY only; docs/remote.md describes the API",
    },
}


def _runs(options: list[str]) -> list[str]:
    """``xgboost_0, ..., xgboost_5`` written ``xgboost_0..5``: long numbered families stay on one line."""
    out, i = [], 0
    while i < len(options):
        m, j = re.fullmatch(r"(.*_)(\d+)", options[i]), i
        while m and j + 1 < len(options) and options[j + 1] == f"{m[1]}{int(m[2]) + j + 1 - i}":
            j += 1
        out.append(f"{options[i]}..{options[j].rsplit('_', 1)[1]}" if j - i >= 2 else options[i])
        out += options[i + 1:j + 1] if 0 < j - i < 2 else []
        i = j + 1
    return out


def _groups(names: list[str]) -> list[str]:
    from socinf_cli.conf_tree import chosen_options, group_options

    defaults, lines = chosen_options(), []
    for name in names:
        options = [f"{o}*" if defaults.get(name) == o else o for o in _runs(group_options(name) or [])]
        lines += [f"  {name:<22} {GROUPS[name]}", *textwrap.wrap(", ".join(options), 110, initial_indent=" " * 25,
                                                                  subsequent_indent=" " * 25)]
    return lines


def _serve_keys() -> str:
    from socinf.serve.config import ServeConfig

    return ", ".join(f"serve.{f.name}" for f in dataclasses.fields(ServeConfig) if f.name != "api_key")


def help_text(command: str) -> str:
    """The help of ``socinf <command>`` (run or serve); ``$`` doubled for Hydra's string.Template."""
    c = COMMANDS.get(command, COMMANDS["run"])
    lines = [c["title"], "", "usage:", *(f"  {u}" for u in c["usage"]), "",
             "config groups (group=option; * the default):", *_groups(c["groups"])]
    if command == "serve":
        lines += ["", "the model: serve.model=mlp*|logistic|xgboost, hyper-parameters from conf/target/<model>.yaml",
                  f"keys: {_serve_keys()}"]
    lines += ["", "examples:", *(f"  {e}" for e in c["examples"]), "", c["footer"]]
    return "\n".join(lines).replace("$", "$$")


def register_help_resolver() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("socinf_help"):
        OmegaConf.register_new_resolver("socinf_help", help_text)

"""Learning-rule declarations: which matrices a rule stores, its phases per layer, what each
phase depends on and runs on, and what it stashes.  Rules live as YAML files in
``cimcost/rules/``; adding a rule is adding a file.  Nothing in the cost code branches on a
rule's name."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..errors import InputError
from ..specs import Strict, validate_document
from ..yamlio import load_yaml, parse_yaml_text

Op = Literal["mvm", "mvm_transposed", "mvm_feedback", "lookup", "gradient", "write"]
LayerSelector = Literal["all", "hidden", "not_first", "last"]

_REF = re.compile(r"^(?P<phase>[a-z_][a-z0-9_]*)\[(?P<index>l|l-1|l\+1|last|first)\]$")


class PhaseDecl(Strict):
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    op: Op
    layers: LayerSelector
    per: Literal["sample", "batch"]
    after: list[str] = []
    runs_on: Literal["arrays", "wgu"] = "arrays"
    stash: list[Literal["input"]] = []
    # precision of the signal this phase consumes, when the rule fixes it (sign-based rules
    # use 1 bit); otherwise the floorplan's error precision
    input_bits: int | None = Field(default=None, gt=0, le=32)
    # a write phase programs the matrix row by row (NeuroSim) or column by column (ELM paper)
    write_by: Literal["rows", "columns"] = "rows"

    @field_validator("after")
    @classmethod
    def _refs(cls, refs: list[str]) -> list[str]:
        for ref in refs:
            if not _REF.match(ref):
                raise ValueError(
                    f"dependency '{ref}' is not of the form phase[l], phase[l-1], phase[l+1], "
                    "phase[last] or phase[first]")
        return refs


class FeedbackDecl(Strict):
    """Fixed random feedback matrices a rule stores besides the weights.

    ``classes_by_width``: B maps the classes (the output error or target) to a layer's width;
    one matrix sliced for every layer or one per layer (floorplan field
    ``training.feedback_matrix``).  ``like_transposed_weights``: one B per layer shaped like
    W^T.  ``store: cim`` keeps B in CIM arrays read by analog MVM; ``store: sram`` keeps it in
    a digital table read by look-up (no MAC, no ADC)."""

    shape: Literal["classes_by_width", "like_transposed_weights"]
    store: Literal["cim", "sram"] = "cim"
    layers: Literal["hidden", "not_first"] = "hidden"


class RuleDecl(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str
    readout: Literal["forward", "transposable"]
    feedback: FeedbackDecl | Literal["none"] = "none"
    wgus: int | Literal["per_layer"] = Field(default=1)
    aliases: list[str] = []
    # said once in the report when the network has convolutions the rule trains poorly
    conv_note: str | None = None
    phases: list[PhaseDecl] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RuleDecl:
        names = [ph.name for ph in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        for ph in self.phases:
            for ref in ph.after:
                m = _REF.match(ref)
                assert m is not None
                if m["phase"] not in names:
                    raise ValueError(f"phase '{ph.name}' depends on unknown phase '{m['phase']}'")
            if ph.op == "mvm_transposed" and self.readout != "transposable":
                raise ValueError(f"phase '{ph.name}' reads transposed weights but readout is "
                                 "'forward'")
            if ph.op in ("mvm_feedback", "lookup") and self.feedback == "none":
                raise ValueError(f"phase '{ph.name}' reads feedback matrices but feedback is "
                                 "'none'")
            if isinstance(self.feedback, FeedbackDecl):
                wanted = "lookup" if self.feedback.store == "sram" else "mvm_feedback"
                other = "mvm_feedback" if wanted == "lookup" else "lookup"
                if ph.op == other:
                    raise ValueError(f"phase '{ph.name}' uses {other} but the feedback store "
                                     f"'{self.feedback.store}' is read by {wanted}")
            if ph.runs_on == "wgu" and self.wgus == 0:
                raise ValueError(f"phase '{ph.name}' runs on a WGU but the rule has wgus: 0")
        return self

    @property
    def trained_layers_selector(self) -> set[str]:
        return {ph.layers for ph in self.phases if ph.runs_on == "wgu"}

    @property
    def stashes_input(self) -> bool:
        return any("input" in ph.stash for ph in self.phases)


def parse_ref(ref: str) -> tuple[str, str]:
    m = _REF.match(ref)
    assert m is not None
    return m["phase"], m["index"]


def _bundled() -> dict[str, str]:
    folder = resources.files("cimcost.rules")
    return {entry.name[:-5]: entry.read_text(encoding="utf-8") for entry in folder.iterdir()
            if entry.name.endswith(".yaml")}


@cache
def builtin_rules() -> dict[str, RuleDecl]:
    """Every bundled rule, by name and by alias."""
    out: dict[str, RuleDecl] = {}
    for fname, text in sorted(_bundled().items()):
        rule = validate_document(RuleDecl, parse_yaml_text(text, f"cimcost/rules/{fname}.yaml"))
        for key in (rule.name, *rule.aliases):
            out[key] = rule
    return out


def rule_names() -> list[str]:
    return sorted({r.name for r in builtin_rules().values()})


def parse_rule_list(text: str, field: str = "--rules") -> list[str]:
    """``"bp, dfa"`` -> ``["bp", "dfa"]``; every name checked before any work is done."""
    names = [r.strip() for r in text.split(",") if r.strip()]
    if not names:
        raise InputError("no rules given", field=field, expected="e.g. bp,dfa")
    for name in names:
        get_rule(name)
    if len(set(names)) != len(names):
        raise InputError("a rule is listed twice", field=field, expected="e.g. bp,dfa")
    return names


def get_rule(name_or_path: str | RuleDecl) -> RuleDecl:
    """A bundled rule by name, or a rule declared in a YAML file of the user's."""
    if isinstance(name_or_path, RuleDecl):
        return name_or_path
    rules = builtin_rules()
    if name_or_path in rules:
        return rules[name_or_path]
    if name_or_path.endswith((".yaml", ".yml")) and Path(name_or_path).exists():
        return validate_document(RuleDecl, load_yaml(name_or_path))
    raise InputError(f"unknown rule '{name_or_path}'", field="rule",
                     expected="one of " + ", ".join(rule_names()) + " or a rule YAML file")

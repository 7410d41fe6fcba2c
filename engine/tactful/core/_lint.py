"""The playbook linter: a valid playbook that will not do what its author meant.

``lint(playbook)`` returns ``Finding``s (field path, message). Validation refuses what
cannot run; the linter warns about what runs but is wrong or unwise:

* a trigger that can never fire: a comparison no value of its signal passes
  (``scroll_depth >= 1.5``), thresholds on one signal that contradict each other
  inside an ``all``, or URL globs that only match pages of other kinds;
* a message placeholder that is unknown (visitors would read ``{percnt}``) or that
  the trigger has nothing to fill with (``{code}`` without an offer);
* a discount larger than the guide's "small discount";
* a trigger on home or category pages (barely worth firing, costly in annoyance),
  except a welcome back, which greets a returning cart wherever the visitor lands;
* a dismissal cooldown shorter than a day (err toward patience);
* variants on two or more triggers under holdout hash version 1, which ties them together.

``tactful check`` prints them; ``tactful check --strict`` makes any of them exit 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._conditions import AllOf, AnyOf, Condition, Leaf
from ._playbook import _TEMPLATE_FIELD, Playbook, Trigger

MAX_SANE_PERCENT = 20.0  # "a small discount they can apply in a tap"
MIN_COOLDOWN = 86400.0  # "after a dismissal, stay quiet for a while ... err toward patience"
PLACEHOLDERS = ("code", "percent", "amount", "description", "product")
NOISY_PAGES = ("home", "category")


@dataclass(frozen=True, slots=True)
class Finding:
    """One warning: the field it is about and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def lint(playbook: Playbook) -> list[Finding]:
    """Every warning for a valid playbook, in playbook order."""
    order = {t["id"]: i for i, t in enumerate(playbook.source["triggers"])}  # valid: a table each, ids unique
    findings: list[Finding] = []
    written = sorted(playbook.triggers, key=lambda t: order[t.id])  # in the author's order
    for trig in written:
        path = f"triggers[{order[trig.id]}]"
        findings += _never_fires(trig.when, f"{path}.when")
        findings += _unreachable_urls(playbook, trig, path)
        findings += _placeholders(trig, path)
        noisy = [kind for kind in trig.pages if kind in NOISY_PAGES]
        if noisy and trig.kind != "welcome_back":  # greeting a returning cart is fine wherever they land
            findings.append(Finding(f"{path}.pages", f"fires on {' and '.join(noisy)} pages: the lift there is small "
                                                     "and visitors learn to dismiss; prefer product, pricing or cart"))  # fmt: skip
    for offer_id, offer in playbook.offers.items():
        if offer.percent > MAX_SANE_PERCENT:
            findings.append(Finding(f"offers.{offer_id}.percent", f"{offer.percent:g}% is more than a small nudge "
                                                                 f"(above {MAX_SANE_PERCENT:g}%)"))  # fmt: skip
    if playbook.limits.cooldown < MIN_COOLDOWN:
        findings.append(Finding("limits.cooldown", f"{playbook.limits.cooldown:g} s of quiet after a dismissal is less "
                                                   "than a day: too short and you nag"))  # fmt: skip
    varied = [t.id for t in written if t.variants]
    if len(varied) > 1 and playbook.holdout.hash_version == 1:
        findings.append(Finding("holdout.hash_version", f"{' and '.join(varied)} have variants: under hash version 1 "
                                "a visitor's variant of one decides their variant of the others (FNV-1a's low bits); "
                                "set hash_version = 2 before their experiment starts (it reassigns every visitor)"))  # fmt: skip
    return findings


# -- conditions that can never hold ---------------------------------------------


def _children(node: Condition, path: str) -> list[tuple[Condition, str]]:
    if isinstance(node, AllOf):
        key = "any" if isinstance(node, AnyOf) else "all"
        return [(child, f"{path}.{key}[{i}]") for i, child in enumerate(node.children)]
    return []


def _never_fires(node: Condition, path: str) -> list[Finding]:
    """Findings that make ``node`` impossible; empty when it can hold."""
    if isinstance(node, Leaf):
        return [] if _satisfiable([node]) else [Finding(path, f"{node.text} can never hold")]
    children = _children(node, path)
    found = [(child, child_path, _never_fires(child, child_path)) for child, child_path in children]
    if isinstance(node, AnyOf):
        return [f for _, _, fs in found for f in fs] if all(fs for _, _, fs in found) else []
    out = [f for _, _, fs in found for f in fs]
    leaves: dict[tuple[str, str | None], list[tuple[Leaf, str]]] = {}
    for child, child_path in children:
        if isinstance(child, Leaf):
            leaves.setdefault((child.signal.name, child.param), []).append((child, child_path))
    for group in leaves.values():
        members = [leaf for leaf, _ in group]
        if all(_satisfiable([leaf]) for leaf in members) and not _satisfiable(members):  # (one alone: it holds)
            said = " and ".join(leaf.text for leaf in members)
            out.append(Finding(group[-1][1], f"contradicts the other thresholds on the same signal: {said}"))
    return out


def _satisfiable(leaves: list[Leaf]) -> bool:
    """Is there one value of the (shared) signal that passes every leaf?"""
    signal = leaves[0].signal
    lo, lo_closed, hi, hi_closed = signal.baseline, True, signal.top, not math.isinf(signal.top)
    excluded = []
    for leaf in leaves:
        v, op = leaf.value, leaf.op
        if op in (">=", ">") and (v > lo or (v == lo and op == ">")):
            lo, lo_closed = v, op == ">="
        elif op in ("<=", "<") and (v < hi or (v == hi and op == "<")):
            hi, hi_closed = v, op == "<="
        elif op == "==":
            if not ((lo < v or (v == lo and lo_closed)) and (v < hi or (v == hi and hi_closed))):
                return False  # outside what the other leaves left (both bounds: they may have crossed)
            lo = hi = v
            lo_closed = hi_closed = True
        elif op == "!=":
            excluded.append(v)
    if signal.whole:
        lo = math.ceil(lo) if lo_closed else math.floor(lo) + 1
        hi = hi if math.isinf(hi) else (math.floor(hi) if hi_closed else math.ceil(hi) - 1)
        lo_closed = hi_closed = True
    if lo > hi or (lo == hi and not (lo_closed and hi_closed)):
        return False
    if signal.whole and hi - lo <= len(excluded):  # few whole values left: are they all excluded?
        return any(x not in excluded for x in range(int(lo), int(hi) + 1))
    return not (lo == hi and lo in excluded)



# -- pages, placeholders ----------------------------------------------------------


def _unreachable_urls(playbook: Playbook, trig: Trigger, path: str) -> list[Finding]:
    """URL globs whose pages the playbook's [pages] globs give another kind than the trigger's.

    (A page can still name its kind with data-tactful-page; that is why this is a warning.)
    """
    findings = []
    for i, glob in enumerate(trig.urls):
        sample = glob.replace("*", "x").replace("?", "x")
        kind = playbook.page_kind(sample)
        if kind != "other" and kind not in trig.pages:
            findings.append(Finding(f"{path}.urls[{i}]", f"{sample!r} is a {kind} page by [pages], and the trigger "
                                                         f"only fires on {', '.join(trig.pages)}"))  # fmt: skip
    return findings


def _placeholders(trig: Trigger, path: str) -> list[Finding]:
    findings = []
    offer = trig.offer
    fillable = {"product"}
    if offer is not None:
        fillable |= {"code"} if offer.code else set()
        fillable |= {"percent"} if offer.percent else set()
        fillable |= {"amount"} if offer.amount else set()
        fillable |= {"description"} if offer.description else set()
    for name in _TEMPLATE_FIELD.findall(trig.message):
        if name not in PLACEHOLDERS:
            close = [p for p in PLACEHOLDERS if p[0] == name[0]]
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            findings.append(Finding(f"{path}.message", f"unknown placeholder {{{name}}}: visitors would read it "
                                                       f"as is (known: {', '.join(PLACEHOLDERS)}){hint}"))  # fmt: skip
        elif name not in fillable:
            findings.append(Finding(f"{path}.message", f"{{{name}}} has nothing to fill it: the trigger's offer "
                                                       "does not define it"))  # fmt: skip
    return findings

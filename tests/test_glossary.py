"""The glossary of CONTRIBUTING.md, enforced: one name per quantity, one meaning per name.

Reads every public signature of ``seqlib`` (module-level functions and classes, their ``__init__``
parameters and public methods, dataclass and named-tuple fields), the attributes its classes set
(``self.x = ...``) and the flags of its command lines (every ``"--flag"`` string in its source), and
fails on a name the glossary rules out.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import seqlib

PACKAGE = Path(seqlib.__file__).parent

#: A name the glossary rules out -> the one name for that quantity. A parameter, attribute or flag
#: is flagged when it is one of these, or ends with ``_`` + one of these (``lm_epochs``).
SYNONYMS = {
    **dict.fromkeys(["hidden_size", "hiddens", "hidden_dim", "num_hidden", "n_hidden", "n_hiddens",
                     "hidden_units"], "num_hiddens"),
    **dict.fromkeys(["embedding_size", "embed_dim", "emb_dim", "emb_size", "embedding_dim"], "embed_size"),
    **dict.fromkeys(["char_embed", "char_emb", "char_embedding_size", "char_embed_dim"], "char_embed_size"),
    **dict.fromkeys(["epochs", "n_epochs", "nepochs"], "num_epochs"),
    **dict.fromkeys(["num_tokens", "n_vocab", "vocab_len", "num_vocab", "ntokens", "n_tokens"], "vocab_size"),
    **dict.fromkeys(["n_layers", "nlayers", "num_layer"], "num_layers"),
    **dict.fromkeys(["learning_rate"], "lr"),
    **dict.fromkeys(["dropout_rate", "dropout_p", "drop_prob"], "dropout"),
    **dict.fromkeys(["random_seed", "rng_seed"], "seed"),
    **dict.fromkeys(["n_tags", "tagset_size"], "num_tags"),
    **dict.fromkeys(["n_classes", "num_class"], "num_classes"),
    **dict.fromkeys(["temp"], "temperature"),
}

#: Short parameter names that the glossary keeps for one thing: ``D`` and ``h`` are never a hidden
#: size (``num_hiddens``), ``T`` is a number of time steps, never a temperature.
SIZE_LETTERS = {"D": "num_hiddens", "h": "num_hiddens"}

#: Names that only one module may define publicly, or (a hint instead of a module) none.
ONE_HOME = {"train": "the training loop is seqlib.training.fit",
            "predict": "say what is predicted (predict_tags), or generate text with seqlib.decoding.generate",
            "evaluate": "seqlib.training", "generate": "seqlib.decoding", "tokenize": "seqlib.text"}

#: The output layer of an nn.Module is ``head``: these are never nn.Module attributes (outside
#: seqlib.d2l, which keeps D2L's ``linear``); from-scratch parameter tensors keep the math names.
NOT_A_LAYER = {"linear", "W_v", "W_hq"}

#: (where, name) pairs that look like a synonym but name another quantity, with the reason.
ALLOWED = {
    ("seqlib.history.History", "epochs"): "the list of epoch numbers run, not a count",
}


def _modules():
    """Every public module of seqlib, imported (``__main__`` entry points are not imported)."""
    names = ["seqlib"] + [m.name for m in pkgutil.walk_packages(seqlib.__path__, "seqlib.")]
    return [importlib.import_module(n) for n in names
            if not any(part.startswith("_") for part in n.split("."))]


def _definitions():
    """``(module, qualified name, object)`` for every public function and class defined in seqlib."""
    for module in _modules():
        for name, obj in vars(module).items():
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)) \
                    and getattr(obj, "__module__", None) == module.__name__:
                yield module.__name__, name, obj


def _parameters(fn):
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin, or a class whose constructor has no Python signature
        return []
    return [p for p in signature.parameters.values()
            if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _signatures():
    """``(where, callable)`` for every public function, class (its constructor) and public method."""
    for module, name, obj in _definitions():
        where = f"{module}.{name}"
        yield where, obj
        if inspect.isclass(obj):
            for member_name, member in vars(obj).items():
                if member_name.startswith("_") and member_name != "__call__":
                    continue
                member = getattr(member, "__func__", getattr(member, "fget", member))
                if inspect.isfunction(member):
                    yield f"{where}.{member_name}", member


def _synonym(name: str) -> str | None:
    """The one name for ``name`` if the glossary rules ``name`` out, else ``None``."""
    for bad, good in SYNONYMS.items():
        if (name == bad or name.endswith("_" + bad)) and not name.endswith(good):
            return name[: len(name) - len(bad)] + good
    return None


def _flagged_parameter(p: inspect.Parameter) -> str | None:
    if p.name in SIZE_LETTERS and (p.annotation in (int, "int") or type(p.default) is int):
        return SIZE_LETTERS[p.name]
    if p.name == "T" and (p.annotation in (float, "float") or type(p.default) is float):
        return "temperature"
    return _synonym(p.name)


def test_public_signatures_use_the_glossarys_names():
    offenders = []
    for where, fn in _signatures():
        for p in _parameters(fn):
            good = _flagged_parameter(p)
            if good and (where, p.name) not in ALLOWED and (where.rsplit(".", 1)[0], p.name) not in ALLOWED:
                offenders.append(f"{where}({p.name}): call it {good}")
    assert not offenders, "names the glossary (CONTRIBUTING.md) rules out:\n  " + "\n  ".join(sorted(set(offenders)))


def _is_mode_switch(method) -> bool:
    """``train(self, mode=True)``: nn.Module's switch between training and evaluation mode (or a copy of it)."""
    return inspect.isfunction(method) and list(inspect.signature(method).parameters) == ["self", "mode"]


def test_each_colliding_name_has_one_home():
    offenders = []
    for module, name, obj in _definitions():
        names = [(name, f"{module}.{name}")]
        if inspect.isclass(obj):  # a method named predict or generate is a second home too
            names += [(m, f"{module}.{name}.{m}") for m, member in vars(obj).items()
                      if m in ONE_HOME and not (m == "train" and _is_mode_switch(member))]
        for short, where in names:
            home = ONE_HOME.get(short)
            if home is not None and module != home:
                offenders.append(f"{where}: " + (f"only {home}.{short} is called {short}" if home.startswith("seqlib.")
                                                 else f"no public {short}: {home}"))
    assert not offenders, "one meaning per name (CONTRIBUTING.md, glossary):\n  " + "\n  ".join(offenders)


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts), ast.parse(path.read_text())


def _self_attributes(tree):
    """``(attribute, assigned value)`` for every ``self.attribute = value`` in ``tree``."""
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    yield t.attr, node.value


def test_attributes_use_the_glossarys_names_and_the_output_layer_is_head():
    offenders = []
    for module, tree in _sources():
        for attribute, value in _self_attributes(tree):
            good = _synonym(attribute)
            if good and not any(where.startswith(module) and name == attribute for where, name in ALLOWED):
                offenders.append(f"{module}: self.{attribute}: call it {good}")
            layer = isinstance(value, ast.Call) and "Parameter" not in ast.unparse(value.func)
            if attribute in NOT_A_LAYER and layer and module != "seqlib.d2l":
                offenders.append(f"{module}: self.{attribute} = {ast.unparse(value.func)}(...): "
                                 "the output layer of an nn.Module is self.head")
    assert not offenders, "attributes the glossary (CONTRIBUTING.md) rules out:\n  " + "\n  ".join(offenders)


def test_command_line_flags_are_kebab_case_glossary_names():
    offenders = []
    for module, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"--[A-Za-z][\w-]*", node.value):
                name = node.value[2:].lower().replace("-", "_")
                good = "--" + (_synonym(name) or name).replace("_", "-")
                if node.value != good:
                    offenders.append(f"{module}: {node.value}: call it {good} (kebab-case, the glossary's name)")
    assert not offenders, "command-line flags the glossary (CONTRIBUTING.md) rules out:\n  " + "\n  ".join(offenders)


@pytest.mark.parametrize("name, good", [("hidden_size", "num_hiddens"), ("lm_epochs", "lm_num_epochs"),
                                        ("char_embed", "char_embed_size"), ("num_tokens", "vocab_size"),
                                        ("num_hiddens", None), ("embed_size", None), ("word_dropout", None)])
def test_the_synonym_rule_itself(name, good):
    assert _synonym(name) == good

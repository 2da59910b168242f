"""template.yaml as CloudFormation would deploy it for given parameters: the SAM transform, then the Conditions.

`deployed_template(parameters)` answers "which resources, with which properties, does this account shape get?":
it applies the SAM transform (aws-sam-translator, as CloudFormation does), evaluates every condition for the
parameters (defaults filled in), drops the resources and outputs whose condition is false, resolves `Fn::If`
(dropping `AWS::NoValue`) and substitutes parameter `Ref`s. References to resources and `Fn::GetAtt` stay as they
are: only a deployment knows them. The account-shape tests and the deployment rehearsal both read it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from devtools.paths import REPO_ROOT, TEMPLATE_PATH

_NO_VALUE = object()


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...) as their long-form dicts."""


def _tag_constructor(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _tag_constructor)


def template_document(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as CloudFormation sees it, short-form tags read as their long forms (`{"Ref": ...}`)."""
    document: dict[str, Any] = yaml.load(path.read_text("utf-8"), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader
    return document


class _NoManagedPolicies:
    """The transform asks for AWS managed policy ARNs only for `Policies` that name one by its short name."""

    def load(self) -> dict[str, str]:
        return {}


def transformed_template(parameters: dict[str, str], path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The SAM-transformed template (plain CloudFormation), local code paths written as S3 URIs as `sam package`
    would."""
    from samtranslator.translator.transform import transform

    document = template_document(path)
    for resource in document["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://package/" + str((REPO_ROOT / properties[key]).relative_to(REPO_ROOT))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the transform fills in the region's partition
    transformed: dict[str, Any] = transform(document, dict(parameters), _NoManagedPolicies())
    return transformed


def parameter_values(document: dict[str, Any], given: dict[str, str], *, complete: bool = True) -> dict[str, Any]:
    """Every parameter's value: the given one or its default; CommaDelimitedList values as lists. With
    `complete=False` a parameter without either is left out (its `Ref`s stay unresolved)."""
    values: dict[str, Any] = {}
    for name, declaration in (document.get("Parameters") or {}).items():
        raw = given.get(name, declaration.get("Default"))
        if raw is None:
            if not complete:
                continue
            raise ValueError(f"parameter {name} has no default and no value")
        raw = str(raw)
        values[name] = raw.split(",") if declaration.get("Type") == "CommaDelimitedList" else raw
    return values


def evaluate(value: Any, parameters: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """Resolve what the parameters decide; leave resource references alone."""
    if isinstance(value, list):
        items = [evaluate(item, parameters, conditions) for item in value]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and argument == "AWS::NoValue":
            return _NO_VALUE
        if function == "Ref" and argument in parameters:
            return parameters[argument]
        if function == "Fn::If":
            condition, when_true, when_false = argument
            return evaluate(when_true if conditions[condition] else when_false, parameters, conditions)
        if function in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return _condition(value, parameters, conditions)
        if function == "Fn::Join":
            separator, items = argument[0], evaluate(argument[1], parameters, conditions)
            if isinstance(items, list) and all(isinstance(item, str) for item in items):
                return separator.join(items)
    resolved = {key: evaluate(item, parameters, conditions) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not _NO_VALUE}


def _condition(expression: Any, parameters: dict[str, Any], conditions: dict[str, bool]) -> bool:
    ((function, argument),) = expression.items()
    if function in ("Condition", "Fn::Condition"):
        return conditions[argument]
    if function == "Fn::Equals":
        left, right = (evaluate(item, parameters, conditions) for item in argument)
        return bool(str(left) == str(right))
    if function == "Fn::Not":
        return not _condition(argument[0], parameters, conditions)
    if function == "Fn::And":
        return all(_condition(item, parameters, conditions) for item in argument)
    if function == "Fn::Or":
        return any(_condition(item, parameters, conditions) for item in argument)
    raise ValueError(f"unsupported condition function {function}")


def evaluate_conditions(document: dict[str, Any], parameters: dict[str, Any]) -> dict[str, bool]:
    """Each named condition's value; a condition may name others (in any order)."""
    pending = dict(document.get("Conditions") or {})
    conditions: dict[str, bool] = {}
    while pending:
        for name, expression in list(pending.items()):
            try:
                conditions[name] = _condition(expression, parameters, conditions)
            except KeyError:  # names a condition not evaluated yet
                continue
            del pending[name]
    return conditions


def resolve(document: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """`document` with the parameters' decisions applied: kept resources and outputs only, `Fn::If` resolved."""
    parameters = parameter_values(document, given)
    conditions = evaluate_conditions(document, parameters)
    resolved = copy.deepcopy(document)
    for section in ("Resources", "Outputs"):
        kept = {
            name: entry
            for name, entry in (resolved.get(section) or {}).items()
            if conditions.get(entry.get("Condition", ""), True)
        }
        resolved[section] = {
            name: evaluate({key: value for key, value in entry.items() if key != "Condition"}, parameters, conditions)
            for name, entry in kept.items()
        }
    return resolved


def deployed_template(given: dict[str, str], path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """What CloudFormation would create for these parameters (see the module docstring)."""
    return resolve(transformed_template(given, path), given)

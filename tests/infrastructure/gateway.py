"""Resolve requests through a synthesized REST API the way API Gateway routes them: at each
level a literal path part beats a `{param}`, which beats a greedy `{name+}` (which takes the rest
of the path); a method matches exactly or through ANY. The resolver never backtracks out of a
literal match, so a route it resolves does not depend on API Gateway falling back."""

from __future__ import annotations

import json
from dataclasses import dataclass

ROOT = "<root>"


@dataclass
class Route:
    resource: str  # logical ID of the resource (ROOT for /)
    method: dict  # the AWS::ApiGateway::Method properties
    params: dict[str, str]


class Gateway:
    def __init__(self, template: dict):
        self.resources = template["Resources"]
        self.children: dict[str, dict[str, str]] = {ROOT: {}}
        for logical_id, r in self._of("AWS::ApiGateway::Resource").items():
            parent = self._key(r["Properties"]["ParentId"])
            self.children.setdefault(parent, {})[r["Properties"]["PathPart"]] = logical_id
            self.children.setdefault(logical_id, {})
        self.methods: dict[tuple[str, str], dict] = {}
        for m in self._of("AWS::ApiGateway::Method").values():
            p = m["Properties"]
            self.methods[(self._key(p["ResourceId"]), p["HttpMethod"])] = p

    def _of(self, kind: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    @staticmethod
    def _key(ref: dict) -> str:
        if "Fn::GetAtt" in ref and ref["Fn::GetAtt"][1] == "RootResourceId":
            return ROOT
        return ref["Ref"]

    def resolve(self, method: str, path: str) -> Route | None:
        node, params = ROOT, {}
        parts = [p for p in path.split("/") if p]
        for i, part in enumerate(parts):
            kids = self.children[node]
            single = [k for k in kids if k.startswith("{") and not k.endswith("+}")]
            greedy = [k for k in kids if k.endswith("+}")]
            if part in kids:
                node = kids[part]
            elif single:
                node = kids[single[0]]
                params[single[0][1:-1]] = part
            elif greedy:
                node = kids[greedy[0]]
                params[greedy[0][1:-2]] = "/".join(parts[i:])
                break
            else:
                return None
        found = self.methods.get((node, method)) or self.methods.get((node, "ANY"))
        return Route(node, found, params) if found else None

    def function_of(self, method: dict) -> str | None:
        """Logical ID of the Lambda function a proxy integration invokes (through an alias too)."""
        uri = json.dumps(method["Integration"].get("Uri", ""))
        for logical_id, r in self.resources.items():
            if f'"{logical_id}"' not in uri:
                continue
            if r["Type"] == "AWS::Lambda::Function":
                return logical_id
            if r["Type"] == "AWS::Lambda::Alias":
                return r["Properties"]["FunctionName"]["Ref"]
        return None

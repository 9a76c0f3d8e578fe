"""API documentation served offline: the OpenAPI 3.1 JSON and a plain HTML page, no CDN.

Litestar's Swagger/ReDoc/Scalar pages load their JavaScript from a CDN,
which an air-gapped government network cannot reach. `/schema` (and
`/schema/docs`) is instead one self-contained HTML page rendered from the
same OpenAPI document: every operation with its parameters, request body and
responses. `/schema/openapi.json` is the machine-readable document.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

_STYLE = """body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b}h2{border-bottom:1px solid #ccc;margin-top:2rem}.op{margin:1rem 0;padding:.5rem 1rem;
border-left:4px solid #456}code{background:#f3f3f3;padding:0 .2rem}.m{font-weight:bold;text-transform:uppercase}
td,th{text-align:left;padding:.1rem .6rem;vertical-align:top}"""


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return f"{name}[]" if "items" in schema else name
    return str(schema.get("type", ""))


def render_html(schema: dict[str, Any], json_path: str) -> str:
    info = schema.get("info", {})
    parts = [f"<!doctype html><html lang='zh'><meta charset='utf-8'><title>{escape(info.get('title', 'API'))} API"
             f"</title><style>{_STYLE}</style><h1>{escape(info.get('title', 'API'))} API {escape(str(info.get('version', '')))}</h1>",
             f"<p>OpenAPI {escape(schema.get('openapi', ''))}: <a href='{escape(json_path)}'>{escape(json_path)}</a>."
             " Errors answer <code>{\"code\", \"message\", \"detail\"}</code>; see docs/api.md.</p>"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in sorted(schema.get("paths", {}).items()):
        for method, op in item.items():
            if isinstance(op, dict) and method in ("get", "post", "put", "delete", "patch"):
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    for tag, ops in sorted(by_tag.items()):
        parts.append(f"<h2>{escape(tag)}</h2>")
        for method, path, op in ops:
            parts.append(f"<div class='op'><p><span class='m'>{method}</span> <code>{escape(path)}</code> "
                         f"{escape(op.get('summary', ''))}</p>")
            if op.get("description"):
                parts.append(f"<p>{escape(op['description'])}</p>")
            params = op.get("parameters") or []
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th></tr>")
                for p in params:
                    parts.append(f"<tr><td><code>{escape(p.get('name', ''))}</code></td><td>{escape(p.get('in', ''))}"
                                 f"</td><td>{'yes' if p.get('required') else ''}</td>"
                                 f"<td>{escape(_ref_name(p.get('schema') or {}))}</td></tr>")
                parts.append("</table>")
            body = ((op.get("requestBody") or {}).get("content") or {})
            for media, content in body.items():
                parts.append(f"<p>body ({escape(media)}): {escape(_ref_name(content.get('schema') or {}))}</p>")
            responses = op.get("responses") or {}
            parts.append("<p>responses: " + ", ".join(
                f"{escape(code)} {escape(r.get('description', ''))}" for code, r in sorted(responses.items())) + "</p>")
            parts.append("</div>")
    return "".join(parts) + "</html>"


class OfflineDocsPlugin(OpenAPIRenderPlugin):
    """The HTML page at the schema root (no script, no external resource)."""

    def __init__(self, *, path: str | list[str] = "/", **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return render_html(openapi_schema, self.get_openapi_json_route(request)).encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [OfflineDocsPlugin(path=["/", "/docs"]), JsonRenderPlugin()]

"""The units' portal and HTTP API (`chitieu serve`, CONTRACT.md section 8)."""

from apps.portal.app import PortalConfig, create_app

__all__ = ["PortalConfig", "create_app", "serve"]


def serve(host: str = "127.0.0.1", port: int = 8080, *, secure_cookies: bool = False) -> None:
    """Run the portal with uvicorn until interrupted (behind a TLS reverse proxy in production)."""
    import uvicorn

    from chitieu.runtime import command_line_run

    app = create_app(PortalConfig(secure_cookies=secure_cookies))
    with command_line_run():
        uvicorn.run(app, host=host, port=port, proxy_headers=True, server_header=False, log_level="info")

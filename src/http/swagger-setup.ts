// The browser side of /docs: SSE Store's own Swagger UI set-up, served as a theme script of
// @fastify/swagger-ui. That plugin's initializer hard-codes the spec URL (/docs/json) and puts the
// Fastify logo in the top bar; theme scripts load after it, so this one takes window.onload over:
// the Explore bar shows /openapi.json, the token survives a reload (persistAuthorization), and the
// top bar shows our mark. Swagger's own logo is never rendered either: its inline <style> is what
// the page's CSP refused.

export const SWAGGER_SETUP_JS = `"use strict";
window.onload = function () {
  // Relative to /docs/ (with or without the slash), so a path prefix of a proxy is kept.
  var base = window.location.href.split("#")[0].replace(/\\/?$/, "/");
  var at = function (path) { return new URL(path, base).href; };
  var brand = function () {
    return {
      wrapComponents: {
        Logo: function (_Original, system) {
          return function () {
            var e = system.React.createElement;
            return e(
              "a",
              { className: "sse-brand", href: at("../console/"), title: "SSE Store's web console" },
              e("img", { src: at("static/theme/sse-store.svg"), alt: "", width: 32, height: 32 }),
              e("span", null, "SSE Store API")
            );
          };
        },
      },
    };
  };
  window.ui = SwaggerUIBundle({
    url: at("../openapi.json"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl, brand],
    layout: "StandaloneLayout",
  });
};
`;

/** The brand in the top bar (a file: the page's CSP allows no inline style). */
export const SWAGGER_THEME_CSS = `.swagger-ui .topbar { background: #1e1b4b; }
.swagger-ui .topbar a.sse-brand { display: inline-flex; align-items: center; gap: 10px; flex: none;
  max-width: none; color: #fff; font: 600 18px/1 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  white-space: nowrap; text-decoration: none; }
`;

/** SSE Store's mark (the console's favicon): a padlock on indigo. */
export const SSE_STORE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><title>SSE Store</title><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M10 15h12v10H10z M12.5 15v-3a3.5 3.5 0 0 1 7 0v3" fill="none" stroke="#fff" stroke-width="2" stroke-linejoin="round"/></svg>';

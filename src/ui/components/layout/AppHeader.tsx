import { useState } from "react";
import type { Route } from "../../routing/routes";
import { hrefs } from "../../routing/routes";
import { ApiKeySettings } from "./ApiKeySettings";

const LINKS = [
  { label: "Agents", href: hrefs.agents(), section: ["agents", "playground"] },
  { label: "Executions", href: hrefs.executions(), section: ["executions", "execution"] },
  { label: "Tool servers", href: hrefs.toolServers(), section: ["tool-servers"] },
];

export function AppHeader({ route }: { route: Route }) {
  const [menuOpen, setMenuOpen] = useState(false);
  return (
    <header className="app-header">
      <div className="app-header__bar">
        <a className="brand" href={hrefs.agents()}>
          Tether
        </a>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? "main-nav main-nav--open" : "main-nav"}>
          <ul>
            {LINKS.map((link) => (
              <li key={link.href}>
                <a
                  href={link.href}
                  aria-current={link.section.includes(route.name) ? "page" : undefined}
                  onClick={() => setMenuOpen(false)}
                >
                  {link.label}
                </a>
              </li>
            ))}
            <li>
              <a href="/docs" target="_blank" rel="noreferrer">
                API docs
              </a>
            </li>
          </ul>
          <ApiKeySettings />
        </nav>
      </div>
    </header>
  );
}

import type { HeaderView } from "../../tether-api/tool-servers";

/** The headers as the API shows them: which credential each reads, or `***` for a literal value. */
export function HeaderSummary({ headers }: { headers: Record<string, HeaderView> }) {
  const entries = Object.entries(headers);
  if (entries.length === 0) return <span className="hint">none</span>;
  return (
    <ul className="header-summary">
      {entries.map(([name, header]) => (
        <li key={name}>
          <code>{name}</code>:{" "}
          {"credential" in header ? (
            <>
              {header.prefix && <code>{JSON.stringify(header.prefix)}</code>} + credential <code>{header.credential}</code>
            </>
          ) : (
            <code>{header.value}</code>
          )}
        </li>
      ))}
    </ul>
  );
}

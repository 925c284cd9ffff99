export function formatTime(iso: string | number): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function Timestamp({ iso }: { iso: string | number }) {
  const date = new Date(iso);
  return (
    <time dateTime={date.toISOString()} title={date.toLocaleString()}>
      {formatTime(iso)}
    </time>
  );
}

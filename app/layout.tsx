import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "Herald",
  description: "SIP SIMPLE presence: your buddy list on the web",
  icons: { icon: [{ url: "/favicon.ico", sizes: "32x32" }, { url: "/icon.svg", type: "image/svg+xml" }] },
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased">{children}</body>
    </html>
  );
}

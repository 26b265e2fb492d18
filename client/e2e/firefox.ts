// Firefox viewers: Debian's firefox-esr driven over WebDriver BiDi by
// puppeteer-core, on the same viewer page as the Chromium ones.

import { Browser, launch, Page } from "puppeteer-core";
import type { Env, NodeProc, PageReport, ViewerOptions } from "./harness";
import { viewerHTML } from "./page";

/**
 * Firefox's preferences for WebRTC inside a namespace that has only
 * loopback: without them Firefox gathers no candidate there at all.
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  // Loopback interfaces are left out of ICE gathering by default.
  "media.peerconnection.ice.loopback": true,
  // Firefox offers only the address of the default route (there is none
  // here, so no candidate at all) unless the page is capturing or may use
  // the camera or microphone: allowed by default, never used (Chromium's
  // side is the camera and microphone permission the harness grants).
  "permissions.default.camera": 1,
  "permissions.default.microphone": 1,
  "media.peerconnection.ice.default_address_only": false,
  "media.peerconnection.ice.no_host": false,
  // Host candidates as addresses, not mDNS names (nothing resolves
  // .local names here): the camera permission above already does this,
  // the pref says it outright. Chromium's side is
  // --disable-features=WebRtcHideLocalIpsWithMdns.
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // No STUN or TURN server but what the node hands out (none on loopback).
  "media.peerconnection.default_iceservers": "[]",
  "media.peerconnection.ice.proxy_only": false,
  "media.peerconnection.ice.relay_only": false,
  // Muted autoplay without a gesture, as Chromium's --autoplay-policy.
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  // Nothing of Firefox's own reaches for the network.
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "browser.safebrowsing.update.enabled": false,
  "app.update.enabled": false,
};

/** Launches Firefox over WebDriver BiDi with a fresh temporary profile (puppeteer removes it on close). */
export async function launchFirefox(env: Env): Promise<Browser> {
  if (!env.firefox) throw new Error("no Firefox given (E2E_FIREFOX)");
  return launch({
    browser: "firefox", executablePath: env.firefox, headless: true, protocol: "webDriverBiDi",
    extraPrefsFirefox: FIREFOX_PREFS, timeout: 60000,
  });
}

/** One Firefox viewer: its own browser context with one page playing the live stream. */
export class FirefoxViewer {
  readonly pageErrors: string[] = [];
  private constructor(readonly name: string, readonly page: Page, private closeCtx: () => Promise<void>) {}

  static async open(browser: Browser, node: NodeProc, name: string, o: ViewerOptions = {}): Promise<FirefoxViewer> {
    const ctx = await browser.createBrowserContext();
    const page = await ctx.newPage();
    const v = new FirefoxViewer(name, page, () => ctx.close());
    page.on("pageerror", (e) => v.pageErrors.push(String(e)));
    if (o.init) await page.evaluateOnNewDocument(o.init);
    // A document from the node's own address (its 404 page), the viewer
    // written into it, as for Chromium.
    await page.goto(`${node.base}/e2e/viewer`);
    // report() counts HTTP bytes from resource timing: keep every entry
    // (the default buffer holds 250).
    await page.evaluate(() => performance.setResourceTimingBufferSize(100000));
    await page.setContent(viewerHTML(o.player ?? "hls"));
    return v;
  }

  async playing(ms = 30000): Promise<void> {
    await this.page.waitForFunction(() => (window as unknown as { e2e?: { playingAt: number } }).e2e?.playingAt! > 0, { timeout: ms, polling: 100 });
  }

  /**
   * What the page reports. The HTTP bytes it received are the segments'
   * encoded body sizes in the page's resource timing (the BiDi network
   * events carry no body size).
   */
  async report(): Promise<PageReport> {
    const r = await this.page.evaluate(() => (window as unknown as { e2eReport(): Promise<Omit<PageReport, "net">> }).e2eReport());
    const net = await this.page.evaluate(() => {
      let segments = 0, all = 0;
      for (const e of performance.getEntriesByType("resource") as PerformanceResourceTiming[]) {
        const u = new URL(e.name);
        if (u.origin !== location.origin || u.pathname.startsWith("/vendor/") || u.pathname === "/edgeswarm.js") continue;
        all += e.encodedBodySize;
        if (/\.(ts|m4s|mp4)$/.test(u.pathname)) segments += e.encodedBodySize;
      }
      return { segments, all, failed: 0 };
    });
    return { ...r, net };
  }

  async eval<T>(js: string): Promise<T> { return this.page.evaluate(js) as Promise<T>; }

  async stop(): Promise<void> { await this.page.evaluate(() => (window as unknown as { e2eStop(): Promise<void> }).e2eStop()); }

  async close(): Promise<void> { await this.closeCtx(); }
}

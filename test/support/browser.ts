import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, ConsoleMessage, Page, chromium } from 'playwright-core';

/** Debian's chromium; nothing here ever downloads a browser. */
export const CHROMIUM = process.env.TEST_CHROMIUM ?? '/usr/bin/chromium';
export const TEST_OUTPUT = join(__dirname, '..', '..', '.stack', 'test-output');

/** A headless Chromium page that records console errors, CSP violations and page errors. */
export class TestBrowser {
  readonly problems: string[] = [];

  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
  ) {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') this.problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`));
  }

  static async launch(): Promise<TestBrowser> {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    return new TestBrowser(browser, page);
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(TEST_OUTPUT, { recursive: true });
    const path = join(TEST_OUTPUT, name);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

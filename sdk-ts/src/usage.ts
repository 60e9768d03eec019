/** The Usage API: the tenant's executions, costs and credits. */

import type { HttpClient } from "./http.js";
import type { CurrentUsage, UsageReport } from "./models.js";
import { parseCurrentUsage, parseUsageReport } from "./wire-resources.js";

export interface UsagePeriod {
  /** Start of the period (default: this month's first day, UTC). */
  startDate?: Date | string;
  /** End of the period, included (default: this month's end). */
  endDate?: Date | string;
}

function isoDate(value: Date | string | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}

export class Usage {
  constructor(private readonly http: HttpClient) {}

  /** @throws InvalidRequestError - Unparsable dates, or start after end. */
  async get(period: UsagePeriod = {}): Promise<UsageReport> {
    const query = { start_date: isoDate(period.startDate), end_date: isoDate(period.endDate) };
    return parseUsageReport(await this.http.json({ method: "GET", path: ["usage"], query }));
  }

  /** Balance, pending charges, rate limit left and running executions now. */
  async current(): Promise<CurrentUsage> {
    return parseCurrentUsage(await this.http.json({ method: "GET", path: ["usage", "current"] }));
  }
}

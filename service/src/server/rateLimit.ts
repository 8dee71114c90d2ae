// A token bucket: `rate` tokens a second, holding at most `capacity`. A cost
// known only afterwards (what a history read returned) is `spend`t, which may
// leave the bucket in debt until it refills.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly capacity: number, private readonly now: () => number = performance.now.bind(performance)) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  take(cost = 1): boolean {
    this.refill();
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  spend(cost: number): void {
    this.refill();
    this.tokens -= cost;
  }

  get inDebt(): boolean {
    this.refill();
    return this.tokens < 0;
  }
}

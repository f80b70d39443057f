// Online Boutique's product catalog (ids, names, USD prices, categories) and its EUR-based currency rates.
export const IDS: string[] = ["OLJCESPC7Z", "66VCHSJNUP", "1YMWWN1N4O", "L9ECAV7KIM", "2ZYFJ3GM2N", "0PUK6V6EV0", "LS4PSXUNUM", "9SIQT8TOJO", "6E92ZMYYFZ"];
export const NAMES: string[] = ["Sunglasses", "Tank Top", "Watch", "Loafers", "Hairdryer", "Candle Holder", "Salt & Pepper Shakers", "Bamboo Glass Jar", "Mug"];
export const PRICE_USD_NANOS: i64[] = [19990000000, 18990000000, 109990000000, 89990000000, 24990000000, 18990000000, 18490000000, 5490000000, 8990000000];
export const CATEGORIES: string[] = ["accessories", "clothing tops", "accessories", "footwear clothing", "hair beauty", "decor home", "kitchen", "kitchen", "kitchen"];

// Rates in millionths of a unit per EUR, as in the demo's currency service.
export const CUR: string[] = ["EUR", "USD", "JPY", "GBP", "CAD"];
const PER_EUR_MICRO: i64[] = [1000000, 1130500, 126400000, 859700, 1512800];

export function rate(c: string): i64 {
  for (let i = 0; i < CUR.length; i++) if (CUR[i] == c) return PER_EUR_MICRO[i];
  return 0;
}

export function product(id: string): i32 {
  for (let p = 0; p < IDS.length; p++) if (IDS[p] == id) return p;
  return -1;
}

export const ADS: string[] = ["Sunglasses for half price", "Watch: free engraving", "Mugs: buy two, get one", "Loafers for the whole family"];

// SMS size estimate, as the server computes it: GSM 03.38 (7-bit) when every character is
// in the default alphabet or its extension table (which counts double), UCS-2 otherwise.

const GSM = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT = '^{}\\[~]|€\f';

export function estimate(text) {
  const chars = Array.from(text);
  const gsm = chars.every((c) => GSM.includes(c) || GSM_EXT.includes(c));
  if (gsm) {
    const units = chars.reduce((n, c) => n + (GSM_EXT.includes(c) ? 2 : 1), 0);
    return { encoding: 'gsm7', units, segments: units === 0 ? 0 : units <= 160 ? 1 : Math.ceil(units / 153) };
  }
  // UCS-2 counts UTF-16 code units (a character outside the BMP takes two).
  const units = text.length;
  return { encoding: 'ucs2', units, segments: units === 0 ? 0 : units <= 70 ? 1 : Math.ceil(units / 67) };
}

// The text as sent for a 6-digit code, with sample values for the other tags.
export function sample(text) {
  return text.replaceAll('{otp}', '123456').replaceAll('{login}', 'user').replaceAll('{name}', 'User')
    .replaceAll('{expires_in}', '5').replaceAll('{app}', 'SAE');
}

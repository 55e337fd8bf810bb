// A one-page A4 PDF written by hand: text in the standard Helvetica fonts and a QR code as filled
// squares (vector, so it prints sharp at any size). About a hundred lines instead of a PDF library
// ten times the size of every page here; the browser tests open the file with PDFium and decode
// the QR code from it.

const A4 = [595.28, 841.89];

function latin1(text) {
  // WinAnsiEncoding covers the Latin letters of Indonesian names; anything else becomes "?".
  let out = '';
  for (const ch of text.normalize('NFC')) {
    const code = ch.codePointAt(0);
    out += code < 256 && (code >= 32 || code === 9) ? ch : '?';
  }
  return out.replace(/[\\()]/g, (c) => '\\' + c);
}

/**
 * lines: [{ text, size = 12, bold = false, x = 56, y }] in points from the bottom left;
 * qr: { matrix: { size, dark(x, y) }, x, y, width } (the square's bottom left corner and side).
 * Returns the PDF as a Blob.
 */
export function onePagePdf({ title, lines, qr }) {
  const ops = [];
  for (const line of lines) {
    const font = line.bold ? '/F2' : '/F1';
    ops.push(`BT ${font} ${line.size || 12} Tf ${line.x ?? 56} ${line.y.toFixed(2)} Td (${latin1(line.text)}) Tj ET`);
  }
  if (qr) {
    const { size, dark } = qr.matrix;
    const cell = qr.width / size;
    ops.push('0 0 0 rg');
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (dark(x, y)) {
          const px = qr.x + x * cell;
          const py = qr.y + (size - 1 - y) * cell;
          ops.push(`${px.toFixed(3)} ${py.toFixed(3)} ${cell.toFixed(3)} ${cell.toFixed(3)} re`);
        }
      }
    }
    ops.push('f');
  }
  const content = ops.join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R /Lang (id-ID) >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${A4[0]} ${A4[1]}] ` +
      '/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>',
    `<< /Title (${latin1(title)}) /Producer (Sambang) >>`,
  ];
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  // Every character is below 256 (latin1 above), so one character is one byte.
  const bytes = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) bytes[i] = out.charCodeAt(i);
  return new Blob([bytes], { type: 'application/pdf' });
}

export const PAGE = { width: A4[0], height: A4[1] };

// QR codes drawn as SVG (on screen) or as squares (in the PDF sheet), from the vendored
// nayuki-qr-code-generator (MIT, vendor/qrcodegen.js).
import qrcodegen from './vendor/qrcodegen.js';

const SVG = 'http://www.w3.org/2000/svg';

/** The dark modules of a QR code of `text`: { size, dark(x, y) }. */
export function qrMatrix(text) {
  const qr = qrcodegen.QrCode.encodeText(text, qrcodegen.QrCode.Ecc.MEDIUM);
  return { size: qr.size, dark: (x, y) => qr.getModule(x, y) };
}

/** An <svg role="img"> of the QR code with a quiet zone of four modules. */
export function qrSvg(text, label) {
  const { size, dark } = qrMatrix(text);
  const border = 4;
  const full = size + border * 2;
  let d = '';
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) if (dark(x, y)) d += `M${x + border},${y + border}h1v1h-1z`;
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${full} ${full}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}

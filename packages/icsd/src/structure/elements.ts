/** The 118 chemical elements by atomic number (`ELEMENTS[0]` is H, `ELEMENTS[117]` is Og). */
export const ELEMENTS: readonly string[] = Object.freeze(
  (
    'H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr ' +
    'Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb ' +
    'Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr ' +
    'Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og'
  ).split(' '),
);

const ELEMENT_SET: ReadonlySet<string> = new Set(ELEMENTS);

/** True for a chemical element symbol exactly as written in the periodic table (`Mg`, not `MG`). */
export function isElement(symbol: string): boolean {
  return ELEMENT_SET.has(symbol);
}

/**
 * The element of a CIF symbol such as `Mg2+`, `O2-` or `Mg1`: its leading letters, with deuterium `D` and
 * tritium `T` written as `H`. Null when the leading letters are not an element symbol.
 */
export function elementOf(symbol: string): string | null {
  let end = 0;
  while (end < symbol.length) {
    const c = symbol.charCodeAt(end);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) break;
    end++;
  }
  const letters = symbol.slice(0, end);
  if (letters === 'D' || letters === 'T') return 'H';
  return ELEMENT_SET.has(letters) ? letters : null;
}

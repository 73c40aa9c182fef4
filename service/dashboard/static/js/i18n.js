// Interface texts in Dutch (default) and English. Data labels (cubes, measures, regions)
// come from the API metadata; only the page's own words live here.

const TEXT = {
  nl: {
    deepen: "Verdieping",
    sector_pick: "Afdelingen (SBI) binnen",
    all_sections: "alle secties (per sectie)",
    breakdowns: "Drugsverdachten uit deze gemeente uitgesplitst",
    by_age: "naar leeftijd",
    by_drug: "naar soort drug",
    cash_line: "Verdachte transacties {year}: {cash} van {all} met contant geld.",
    schematic: "Schematische kaart",
    schematic_note: "Schematische kaart: één vak per gebied in volgorde van de code, geen echte grenzen (de wijk- en buurtkaart zit niet in de gegevens).",
    flows: "Woon- en pleeggemeente van drugsverdachten",
    flows_out: "Wonen hier, verdacht in",
    flows_in: "Verdacht hier, wonen in",
    flows_x: "{n} gemeenten x (geheim).",
    same_gemeente: "eigen gemeente",
    search_title: "Kansrijke zoekgebieden",
    search_note: "Wijken gerangschikt op het gemiddelde van hun rangen op vier indicatoren (1 = hoogste); x als een van de vier geheim is.",
    composite: "Gemiddelde rang",
    sectors_title: "Branches (SBI-secties)",
    sector: "Sectie",
    pooled_note: "Jaren samengenomen: {from}–{to}.",
    controls_label: "Keuze van de kaart",
    one_year: "Toon één jaar",
    mostly_x: "Op deze kaart tonen {shown} van de {total} gemeenten een cijfer; de rest is x (geheim) of 0.",
    what_publishes: "Wat wel een beeld geeft:",
    nothing_publishes: "Ook samengenomen jaren of een grovere indeling geven hier niet meer cijfers.",
    guide_pool_periods: "{from}–{to} samen",
    guide_coarser_level: "een niveau grover (bijv. per provincie)",
    guide_fewer_breakdowns: "zonder verdere uitsplitsing",
    guide_and: ", ",
    guide_count: "{shown} van {total} met een cijfer",
    definition_title: "Wat dit cijfer is",
    unit: "Eenheid",
    source_of: "Bron",
    reference_date: "Peildatum",
    protection_title: "Beveiliging",
    no_definition: "Geen omschrijving beschikbaar.",
    x_threshold: "x: minder dan {n} personen, bedrijven of eigenaren dragen bij.",
    x_dominance: "x ook als de grootste twee bijdragers samen meer dan {k} % van het bedrag hebben, of één bijdrager het bedrag van een ander tot op {p} % nauwkeurig kan afleiden.",
    x_derived: "Berekend uit beveiligde aantallen: x als een van die aantallen geheim is.",
    x_secondary: "Soms is een cijfer x omdat het anders uit totalen terug te rekenen is.",
    perturbed_note: "Gepubliceerde aantallen zijn met hoogstens {d} verstoord; dezelfde groep krijgt altijd dezelfde verstoring.",
    release_text: "Cijfers van {date} (release {id})",
    title: "Zicht op Ondermijning",
    subtitle: "Beveiligde cijfers per gemeente, wijk en buurt",
    switch_lang: "English",
    switch_lang_label: "Switch to English",
    theme: "Thema",
    indicator: "Indicator",
    year: "Jaar",
    show: "Weergave",
    absolute: "Absolute aantallen",
    rates: "Relatief (per inwoner, aandeel)",
    gemeente: "Gemeente",
    find_gemeente: "Zoek een gemeente",
    open_profile: "Open profiel",
    copy_link: "Kopieer link",
    link_copied: "Link gekopieerd",
    link_manual: "Kopieer deze link:",
    download_csv: "Download CSV",
    skip_map: "Sla de kaart over",
    map_title: "Kaart",
    map_caption: "Klik op een gemeente (of kies Enter) voor het profiel.",
    legend: "Legenda",
    suppressed: "x = geheim",
    no_data: "geen gegevens",
    loading: "Laden…",
    ready: "Kaart bijgewerkt",
    error: "Er ging iets mis",
    protect_title: "Over deze cijfers",
    protect_text:
      "Alle cijfers zijn beveiligd, zodat geen persoon, bedrijf of adres herkenbaar is. " +
      "Een x betekent geheim: te weinig personen of bedrijven, of één bedrijf overheerst het " +
      "cijfer, of het cijfer zou anders terug te rekenen zijn. Kleine aantallen zijn licht " +
      "verstoord; totalen kunnen daardoor afwijken van de som van de delen.",
    synthetic: "De microdata in deze versie zijn synthetisch.",
    profile: "Profiel",
    close_profile: "Sluit profiel",
    over_time: "Verloop over de jaren",
    neighbours: "Vergelijking met buurgemeenten",
    netherlands: "Nederland",
    national_total: "Nederland totaal",
    areas: "Gebieden binnen de gemeente",
    wijken: "Wijken",
    buurten: "Buurten",
    rank: "Rang",
    code: "Code",
    name: "Naam",
    value: "Waarde",
    compare: "Twee indicatoren vergelijken",
    x_axis: "Horizontaal (x)",
    y_axis: "Verticaal (y)",
    points_left_out: "weggelaten (x of geen gegevens)",
    points: "Punten",
    all_gemeenten: "Alle gemeenten",
    wijken_of_profile: "Wijken van de gekozen gemeente",
    correlation: "correlatie",
    over_rep: "Oververtegenwoordigde kenmerken",
    over_rep_note: "Index: 100 = aandeel in de hele bevolking (logaritmische schaal: 1.000 is tien keer zo vaak als 100).",
    reason: "reden",
    reasons: {
      threshold: "te weinig eenheden",
      dominance: "één of twee bijdragers overheersen",
      p_percent: "een bijdrager is te goed te schatten",
      secondary: "anders terug te rekenen",
      derived: "onderdeel is geheim",
    },
    perturbed: "licht verstoord ter bescherming",
    themes: {
      drugs: "Drugs",
      real_estate: "Vastgoed",
      transactions: "Verdachte transacties",
      sectors: "Branches",
      population: "Bevolking",
    },
    source: "Bron: CBS / PDOK",
    api_docs: "API-documentatie",
  },
  en: {
    deepen: "In depth",
    sector_pick: "Divisions (SBI) within",
    all_sections: "all sections (by section)",
    breakdowns: "Drug suspects living here, broken down",
    by_age: "by age",
    by_drug: "by drug type",
    cash_line: "Suspicious transactions {year}: {cash} of {all} involving cash.",
    schematic: "Schematic map",
    schematic_note: "Schematic map: one square per area in code order, not real boundaries (the wijk and buurt map is not in the data).",
    flows: "Residence and offence gemeente of drug suspects",
    flows_out: "Live here, suspected in",
    flows_in: "Suspected here, live in",
    flows_x: "{n} gemeenten x (secret).",
    same_gemeente: "own gemeente",
    search_title: "Promising search areas",
    search_note: "Wijken ranked by the mean of their ranks on four indicators (1 = highest); x when one of the four is secret.",
    composite: "Mean rank",
    sectors_title: "Branches (SBI sections)",
    sector: "Section",
    pooled_note: "Years taken together: {from}–{to}.",
    controls_label: "Choice of map",
    one_year: "Show one year",
    mostly_x: "On this map {shown} of the {total} gemeenten show a figure; the rest are x (secret) or 0.",
    what_publishes: "What does give a picture:",
    nothing_publishes: "Pooled years or a coarser level do not publish more here either.",
    guide_pool_periods: "{from}–{to} together",
    guide_coarser_level: "one level coarser (e.g. by provincie)",
    guide_fewer_breakdowns: "without further breakdowns",
    guide_and: ", ",
    guide_count: "{shown} of {total} with a figure",
    definition_title: "What this figure is",
    unit: "Unit",
    source_of: "Source",
    reference_date: "Reference date",
    protection_title: "Protection",
    no_definition: "No description available.",
    x_threshold: "x: fewer than {n} persons, companies or owners contribute.",
    x_dominance: "x also when the two largest contributors hold more than {k} % of the amount, or one contributor could estimate another's amount to within {p} %.",
    x_derived: "Computed from protected counts: x when one of them is secret.",
    x_secondary: "A figure is sometimes x because it could otherwise be recomputed from totals.",
    perturbed_note: "Published counts are perturbed by at most {d}; the same group always gets the same perturbation.",
    release_text: "Figures of {date} (release {id})",
    title: "Zicht op Ondermijning",
    subtitle: "Protected figures by municipality, district and neighbourhood",
    switch_lang: "Nederlands",
    switch_lang_label: "Schakel naar Nederlands",
    theme: "Theme",
    indicator: "Indicator",
    year: "Year",
    show: "Show",
    absolute: "Absolute numbers",
    rates: "Rates (per inhabitant, share)",
    gemeente: "Municipality",
    find_gemeente: "Find a municipality",
    open_profile: "Open profile",
    copy_link: "Copy link",
    link_copied: "Link copied",
    link_manual: "Copy this link:",
    download_csv: "Download CSV",
    skip_map: "Skip the map",
    map_title: "Map",
    map_caption: "Click a municipality (or press Enter) for its profile.",
    legend: "Legend",
    suppressed: "x = confidential",
    no_data: "no data",
    loading: "Loading…",
    ready: "Map updated",
    error: "Something went wrong",
    protect_title: "About these figures",
    protect_text:
      "All figures are protected so that no person, company or address can be recognised. " +
      "An x means confidential: too few persons or companies, one company dominates the " +
      "figure, or the figure could otherwise be recalculated. Small counts are slightly " +
      "perturbed; totals may therefore differ from the sum of their parts.",
    synthetic: "The microdata in this version are synthetic.",
    profile: "Profile",
    close_profile: "Close profile",
    over_time: "Over the years",
    neighbours: "Compared with neighbouring municipalities",
    netherlands: "Netherlands",
    national_total: "Netherlands total",
    areas: "Areas within the municipality",
    wijken: "Districts (wijken)",
    buurten: "Neighbourhoods (buurten)",
    rank: "Rank",
    code: "Code",
    name: "Name",
    value: "Value",
    compare: "Compare two indicators",
    x_axis: "Horizontal (x)",
    y_axis: "Vertical (y)",
    points_left_out: "left out (x or no data)",
    points: "Points",
    all_gemeenten: "All municipalities",
    wijken_of_profile: "Districts of the chosen municipality",
    correlation: "correlation",
    over_rep: "Over-represented characteristics",
    over_rep_note: "Index: 100 = share in the whole population (log scale: 1,000 is ten times as common as 100).",
    reason: "reason",
    reasons: {
      threshold: "too few units",
      dominance: "one or two contributors dominate",
      p_percent: "a contributor could be estimated too closely",
      secondary: "could otherwise be recalculated",
      derived: "a component is confidential",
    },
    perturbed: "slightly perturbed for protection",
    themes: {
      drugs: "Drugs",
      real_estate: "Real estate",
      transactions: "Suspicious transactions",
      sectors: "Sectors",
      population: "Population",
    },
    source: "Source: CBS / PDOK",
    api_docs: "API documentation",
  },
};

export function t(lang, key) {
  const table = TEXT[lang] || TEXT.nl;
  return key in table ? table[key] : TEXT.nl[key] ?? key;
}

export function themeLabel(lang, theme) {
  const known = t(lang, "themes")[theme];
  return known || theme.replace(/_/g, " ");
}

export function reasonText(lang, reason) {
  return (reason && t(lang, "reasons")[reason]) || reason || "";
}

/** The label of a metadata object (cube, measure, level) in the chosen language. */
export function label(lang, obj) {
  if (!obj) return "";
  return (lang === "en" && obj.label_en) || obj.label || obj.id;
}

export function applyTexts(lang, root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(lang, el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(lang, el.dataset.i18nLabel));
  }
  document.documentElement.lang = lang;
}

export function numberFormat(lang, decimals) {
  const locale = lang === "en" ? "en-GB" : "nl-NL";
  const digits = Math.max(0, Math.min(decimals ?? 0, 6));
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits });
}

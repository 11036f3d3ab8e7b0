"""US states and Canadian provinces with the abbreviations wire copy uses for them. Ours.

Datelines read every form ("Va.", "VA", "Virginia"); names in running text only the AP-style
abbreviations that are not also words or names (:data:`US_STATE_ABBREVIATIONS`).
"""

from __future__ import annotations

from services.enrich.lexicon.loader import word_set

#: US states: name -> (GeoNames admin1 = postal code, AP-style abbreviations).
US_STATES: dict[str, tuple[str, str]] = {
    "Alabama": ("AL", "Ala."),
    "Alaska": ("AK", ""),
    "Arizona": ("AZ", "Ariz."),
    "Arkansas": ("AR", "Ark."),
    "California": ("CA", "Calif. Cal."),
    "Colorado": ("CO", "Colo."),
    "Connecticut": ("CT", "Conn."),
    "Delaware": ("DE", "Del."),
    "District of Columbia": ("DC", "D.C."),
    "Florida": ("FL", "Fla."),
    "Georgia": ("GA", "Ga."),
    "Hawaii": ("HI", ""),
    "Idaho": ("ID", ""),
    "Illinois": ("IL", "Ill."),
    "Indiana": ("IN", "Ind."),
    "Iowa": ("IA", "Ia."),
    "Kansas": ("KS", "Kan. Kans."),
    "Kentucky": ("KY", "Ky."),
    "Louisiana": ("LA", "La."),
    "Maine": ("ME", "Me."),
    "Maryland": ("MD", "Md."),
    "Massachusetts": ("MA", "Mass."),
    "Michigan": ("MI", "Mich."),
    "Minnesota": ("MN", "Minn."),
    "Mississippi": ("MS", "Miss."),
    "Missouri": ("MO", "Mo."),
    "Montana": ("MT", "Mont."),
    "Nebraska": ("NE", "Neb. Nebr."),
    "Nevada": ("NV", "Nev."),
    "New Hampshire": ("NH", "N.H."),
    "New Jersey": ("NJ", "N.J."),
    "New Mexico": ("NM", "N.M."),
    "New York": ("NY", "N.Y."),
    "North Carolina": ("NC", "N.C."),
    "North Dakota": ("ND", "N.D."),
    "Ohio": ("OH", ""),
    "Oklahoma": ("OK", "Okla."),
    "Oregon": ("OR", "Ore. Oreg."),
    "Pennsylvania": ("PA", "Pa. Penn."),
    "Rhode Island": ("RI", "R.I."),
    "South Carolina": ("SC", "S.C."),
    "South Dakota": ("SD", "S.D."),
    "Tennessee": ("TN", "Tenn."),
    "Texas": ("TX", "Tex."),
    "Utah": ("UT", ""),
    "Vermont": ("VT", "Vt."),
    "Virginia": ("VA", "Va."),
    "Washington": ("WA", "Wash."),
    "West Virginia": ("WV", "W.Va. W.V."),
    "Wisconsin": ("WI", "Wis. Wisc."),
    "Wyoming": ("WY", "Wyo."),
}

#: Canadian provinces and territories: name -> (GeoNames admin1, abbreviations incl. postal codes).
CA_PROVINCES: dict[str, tuple[str, str]] = {
    "Alberta": ("01", "Alta. AB"),
    "British Columbia": ("02", "B.C. BC"),
    "Manitoba": ("03", "Man. MB"),
    "New Brunswick": ("04", "N.B. NB"),
    "Newfoundland": ("05", "Nfld. NL"),
    "Newfoundland and Labrador": ("05", ""),
    "Nova Scotia": ("07", "N.S. NS"),
    "Ontario": ("08", "Ont. ON"),
    "Prince Edward Island": ("09", "P.E.I. PE"),
    "Quebec": ("10", "Que. QC"),
    "Saskatchewan": ("11", "Sask. SK"),
    "Yukon": ("12", "YT"),
    "Northwest Territories": ("13", "N.W.T. NT"),
    "Nunavut": ("14", "NU"),
}

#: AP-style abbreviations that are also words, names or other abbreviations ("Miss.", "Ill.",
#: "Wash.", "D.C." as in direct current): in running text they say nothing about a state.
AMBIGUOUS_STATE_ABBREVIATIONS = word_set("Cal. D.C. Ill. Ind. Ia. La. Me. Miss. Mo. Penn. Wash.")

#: News-agency abbreviations of US states in running text ("Orlando, Fla.").
US_STATE_ABBREVIATIONS = (
    frozenset(form for _, forms in US_STATES.values() for form in forms.split() if form.endswith("."))
    - AMBIGUOUS_STATE_ABBREVIATIONS
)

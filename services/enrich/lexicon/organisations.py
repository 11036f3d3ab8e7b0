"""Words that make a name an organisation's, and capitals that are not organisations. Ours."""

from __future__ import annotations

from services.enrich.lexicon.loader import word_set

#: Last words of organisation names.
ORG_LAST_WORDS = word_set(
    """
    inc inc. corp corp. corporation co co. company companies ltd ltd. limited plc llc llp ag gmbh sa
    nv bv spa ab asa oyj group holdings holding bank banks party union council ministry department
    agency organization organisation association federation confederation committee commission
    institute institution university college school academy club fc afc united rovers athletic
    athletico wanderers albion hotspur airlines airline airways motors industries systems technologies
    technology communications telecom telecommunications pharmaceuticals pharma petroleum energy
    exchange fund foundation society trust network television tv radio news times post journal press
    herald tribune gazette chronicle telegraph guardian observer express mail court police army navy
    forces guard assembly parliament congress senate cabinet government administration church office
    service services authority board bureau directorate corps brigade front movement alliance
    coalition league secretariat tribunal electric steel mining resources capital partners securities
    investments insurance railways railway reserve agency's brotherhood order mission labs laboratories
    software microsystems computers electronics studios pictures records entertainment media
    publishing airport's newsroom newsdesk brothers sons associates international daily
    """
)

#: First words of "X of Y" organisation names ("Bank of England", "Ministry of Defence").
ORG_HEADS = word_set(
    """
    bank university ministry department church house court council federation association union
    organization organisation institute office board commission chamber league college school
    academy society party committee federal
    """
)

#: Capitalised words that make a name an organisation's wherever they stand (the quotes'
#: name finder).
ORG_NAME_WORDS = word_set(
    """
    Ministry Office Department Party Association Council Union Commission Committee Agency Bank
    Group Company Corp Corporation Inc Ltd Plc Magazine Times Post News Exchange Organisation
    Organization Institute Centre Center Society Federation League Club FC United Foundation Trust
    Fund Authority Service Police Court Government Parliament Airlines Securities Research Project
    Alliance Network Studios Records Television Radio Channel Review Journal Daily Agency Board
    Forum Industries Institution Administration Congress Assembly Senate Bureau Network Systems
    Technologies Labs
    """
)

#: All-capital words that are not organisations.
NON_ORG_ACRONYMS = word_set(
    """
    CEO CFO COO CTO GDP GNP TV AM PM HIV AIDS DNA OK ID PC CD DVD MP MPS MEP MEPS VIP IPO IQ UFO
    PS NB AD BC II III IV VI VII VIII IX XI XII USD EUR GBP JPY CNY RUB FM AM URL CET GMT EST PST
    EDT PDT UTC PR SMS SUV LNG LPG CPI PPI VAT QC RPG EPS RBI ERA NAV FRN YR DIV AGM EGM OTC
    AAA AA BBB BB CCC CC
    """
)

#: News agencies as datelines name them ("LONDON (Reuters) -").
NEWS_AGENCIES = (
    "Reuters",
    "AP",
    "AFP",
    "UPI",
    "Bloomberg",
    "dpa",
    "Xinhua",
    "PTI",
    "IANS",
    "ANI",
    "CNN",
    "Kyodo",
    "Yonhap",
    "TASS",
    "Interfax",
    "ANSA",
    "EFE",
    "BBC",
    "Dow Jones",
    "Sputnik",
    "RIA Novosti",
    "Canadian Press",
    "CP",
    "Press Association",
    "PA",
    "IRNA",
    "WAM",
    "SPA",
    "MENA",
    "Anadolu",
    "APA",
    "Agencies",
    "BNA",
    "CNA",
    "Bernama",
    "Antara",
    "KUNA",
    "NNA",
    "AAP",
    "Reuters Breakingviews",
    "Reuter",
)

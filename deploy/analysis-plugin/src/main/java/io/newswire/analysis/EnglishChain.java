package io.newswire.analysis;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;

/** The individual steps of the newswire English chain, shared by the analyzer and the token filters. */
final class EnglishChain {

    /** Lucene's default English stop words (the set EnglishAnalyzer uses). */
    static final CharArraySet STOP_WORDS = EnglishAnalyzer.ENGLISH_STOP_WORDS_SET;

    private EnglishChain() {}

    static TokenStream possessive(TokenStream in) {
        return new EnglishPossessiveFilter(in);
    }

    static TokenStream lowercase(TokenStream in) {
        return new LowerCaseFilter(in);
    }

    static TokenStream asciiFolding(TokenStream in) {
        return new ASCIIFoldingFilter(in, false);
    }

    static TokenStream stop(TokenStream in) {
        return new StopFilter(in, STOP_WORDS);
    }

    static TokenStream porterStem(TokenStream in) {
        return new PorterStemFilter(in);
    }

    /**
     * Everything after the tokenizer: possessive removal, lowercasing, ASCII folding, stop words,
     * Porter stemming (Lucene's EnglishAnalyzer order, with ASCII folding added after lowercasing).
     */
    static TokenStream full(TokenStream in) {
        return porterStem(stop(asciiFolding(lowercase(possessive(in)))));
    }

    /** What is safe for normalizers and multi-term queries: character-level changes only. */
    static TokenStream normalize(TokenStream in) {
        return asciiFolding(lowercase(in));
    }
}

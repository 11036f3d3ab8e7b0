package io.newswire.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Analyzer type {@code newswire_english}: standard tokenizer, English possessive, lowercase,
 * ASCII folding, English stop words, Porter stemming.
 */
@NamedComponent("newswire_english")
public class NewswireEnglishAnalyzerFactory implements AnalyzerFactory {

    @Override
    public Analyzer create() {
        return new NewswireEnglishAnalyzer();
    }

    static final class NewswireEnglishAnalyzer extends Analyzer {
        @Override
        protected TokenStreamComponents createComponents(String fieldName) {
            Tokenizer source = new StandardTokenizer();
            return new TokenStreamComponents(source, EnglishChain.full(source));
        }

        @Override
        protected TokenStream normalize(String fieldName, TokenStream in) {
            return EnglishChain.normalize(in);
        }
    }
}

package io.newswire.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Analyzer type {@code newswire_folded_keyword}: the whole input as one token, lowercased and
 * ASCII-folded. For text fields that should match a whole value case- and accent-insensitively
 * (custom normalizers for keyword fields cannot use stable-plugin filters).
 */
@NamedComponent("newswire_folded_keyword")
public class FoldedKeywordAnalyzerFactory implements AnalyzerFactory {

    @Override
    public Analyzer create() {
        return new FoldedKeywordAnalyzer();
    }

    static final class FoldedKeywordAnalyzer extends Analyzer {
        @Override
        protected TokenStreamComponents createComponents(String fieldName) {
            Tokenizer source = new KeywordTokenizer();
            return new TokenStreamComponents(source, EnglishChain.normalize(source));
        }

        @Override
        protected TokenStream normalize(String fieldName, TokenStream in) {
            return EnglishChain.normalize(in);
        }
    }
}

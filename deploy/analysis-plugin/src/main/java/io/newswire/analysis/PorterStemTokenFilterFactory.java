package io.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Token filter {@code newswire_porter_stem}: Porter stemming (Lucene PorterStemFilter; expects lowercase input). */
@NamedComponent("newswire_porter_stem")
public class PorterStemTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return EnglishChain.porterStem(tokenStream);
    }
}

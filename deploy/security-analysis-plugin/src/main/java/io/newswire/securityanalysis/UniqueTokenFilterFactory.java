package io.newswire.securityanalysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * Token filter {@code unique}: drops a token equal to one at the same position (Lucene
 * RemoveDuplicatesTokenFilter). analysis-common's {@code unique} also drops repeats at other
 * positions unless {@code only_on_same_position}; for the security index's email analyzer, whose
 * repeats come from pattern_capture at one position, the two agree.
 */
@NamedComponent("unique")
public class UniqueTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new RemoveDuplicatesTokenFilter(tokenStream);
    }
}
